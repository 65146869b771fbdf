package templates

import (
	"regexp"
	"strings"
	"testing"
)

var cssComment = regexp.MustCompile(`(?s)/\*.*?\*/`)

// TestSiteCSSOneRuleASelector: site.css says each selector once in each
// context (the top level or one @media block): a second rule for the same
// selector is how two definitions drift apart (.table-scroll had two).
func TestSiteCSSOneRuleASelector(t *testing.T) {
	src, err := Static.ReadFile("static/site.css")
	if err != nil {
		t.Fatal(err)
	}
	css := cssComment.ReplaceAllString(string(src), "")
	seen := map[string]bool{}
	var ctx []string // the open blocks: "@media ..." or "" for a rule
	start := 0
	for i, r := range css {
		switch r {
		case '{':
			head := strings.Join(strings.Fields(css[start:i]), " ")
			start = i + 1
			if strings.HasPrefix(head, "@") {
				ctx = append(ctx, head)
				continue
			}
			key := strings.Join(ctx, " ") + " | " + head
			if seen[key] {
				t.Errorf("site.css: %q has a second rule (in %q)", head, strings.Join(ctx, " "))
			}
			seen[key] = true
			ctx = append(ctx, "")
		case '}':
			start = i + 1
			if len(ctx) > 0 {
				ctx = ctx[:len(ctx)-1]
			}
		case ';':
			if len(ctx) == 0 || ctx[len(ctx)-1] != "" {
				start = i + 1 // an at-rule without a block, such as @import
			}
		}
	}
	if len(seen) < 50 {
		t.Fatalf("read %d rules from site.css: the parser is broken", len(seen))
	}
}
