//go:build ignore

// smtpsink is an SMTP server on loopback that accepts every message and
// keeps none, for load runs that send leadbook's mail the way a
// deployment does (through a relay) rather than into the pickup folder.
// It counts the messages it accepted and prints the count on SIGTERM or
// SIGINT.
//
//	go run .ci/bench/smtpsink.go -addr 127.0.0.1:2525
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
)

var accepted atomic.Int64

func main() {
	addr := flag.String("addr", "127.0.0.1:2525", "listen address (loopback)")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		fmt.Printf("smtpsink: %d messages accepted\n", accepted.Load())
		os.Exit(0)
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(c)
	}
}

// serve speaks enough SMTP for a client without TLS or AUTH: greeting,
// EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP and QUIT.
func serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	reply := func(s string) bool {
		w.WriteString(s + "\r\n")
		return w.Flush() == nil
	}
	if !reply("220 smtpsink ready") {
		return
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.TrimSpace(line))
		if i := strings.IndexAny(verb, " :"); i >= 0 {
			verb = verb[:i]
		}
		var ok bool
		switch verb {
		case "EHLO":
			ok = reply("250-smtpsink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760")
		case "HELO", "MAIL", "RCPT", "RSET", "NOOP":
			ok = reply("250 OK")
		case "DATA":
			if !reply("354 end with <CRLF>.<CRLF>") {
				return
			}
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
			}
			accepted.Add(1)
			ok = reply("250 OK queued")
		case "QUIT":
			reply("221 bye")
			return
		default:
			ok = reply("502 command not implemented")
		}
		if !ok {
			return
		}
	}
}
