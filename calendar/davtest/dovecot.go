package davtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// IMAP is a Dovecot serving one passwd-file user's maildir on loopback,
// with STARTTLS on a self-signed certificate.
type IMAP struct {
	*Process
	URL                string // imap://127.0.0.1:port
	Addr               string
	Username, Password string
	TLS                *tls.Config // trusts the server's certificate
}

// Dovecot starts Debian's Dovecot in the foreground in a private
// configuration: its own folders, a passwd-file user, a maildir, a free
// loopback port. Run as root, the mail belongs to nobody (Dovecot serves
// no mail as root).
func Dovecot(t testing.TB) *IMAP {
	bin := Require(t, "dovecot")
	dir, err := os.MkdirTemp("", "leadbook-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	serverTLS, clientTLS := selfSigned(t, dir)

	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	internal, uid, gid := me.Username, me.Uid, me.Gid
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if me.Uid == "0" {
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Fatal(err)
		}
		uid, gid = nobody.Uid, nobody.Gid
		internal = "dovecot"
		if _, err := user.Lookup("dovecot"); err != nil {
			internal = "nobody"
		}
		u, _ := strconv.Atoi(uid)
		g, _ := strconv.Atoi(gid)
		if err := os.Chown(home, u, g); err != nil {
			t.Fatal(err)
		}
	}
	login := internal
	if me.Uid == "0" {
		if _, err := user.Lookup("dovenull"); err == nil {
			login = "dovenull"
		}
	}
	// Readable by Dovecot's auth process, which runs as its internal user.
	passwd := filepath.Join(dir, "passwd")
	write(t, passwd, "leadbook:{PLAIN}secret-imap::::::\n")
	if err := os.Chmod(passwd, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "dovecot.conf")
	write(t, conf, fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = /dev/stderr
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <%[2]s
ssl_key = <%[3]s
disable_plaintext_auth = yes
auth_mechanisms = plain
default_internal_user = %[4]s
default_internal_group = %[8]s
default_login_user = %[9]s
first_valid_uid = 1
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[5]d
  }
  inet_listener imaps {
    port = 0
  }
  chroot =
}
service anvil {
  chroot =
}
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
passdb {
  driver = passwd-file
  args = %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[6]s gid=%[7]s home=%[1]s/home/%%u
}
`, dir, serverTLS[0], serverTLS[1], internal, port, uid, gid, groupOf(internal), login))
	if err := os.MkdirAll(filepath.Join(dir, "run"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := newProcess(t, "dovecot", addr, bin, "-F", "-c", conf)
	s := &IMAP{Process: p, URL: "imap://" + addr, Addr: addr, Username: "leadbook", Password: "secret-imap", TLS: clientTLS}
	s.Start()
	return s
}

func groupOf(name string) string {
	u, err := user.Lookup(name)
	if err != nil {
		return name
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return name
	}
	return g.Name
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a client configuration that trusts it.
func selfSigned(t testing.TB, dir string) ([2]string, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write(t, certPath, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	write(t, keyPath, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return [2]string{certPath, keyPath}, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}
