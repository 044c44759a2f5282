package loyalty

import (
	"regexp"
	"testing"
)

func TestCardPatternDrawsMatchingNumbers(t *testing.T) {
	for _, c := range []struct{ pattern, re string }{
		{`2000\d{8}`, `^2000[0-9]{8}$`},
		{`77[1-3]\d{9}`, `^77[1-3][0-9]{9}$`},
		{`^5[13579]{2,4}\d{6}$`, `^5[13579]{2,4}[0-9]{6}$`},
		{`[0-24-6]\d{3}[9]`, `^[0-24-6][0-9]{3}9$`},
	} {
		p, err := ParseCardPattern("p", c.pattern)
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		re := regexp.MustCompile(c.re)
		for i := 0; i < 200; i++ {
			n := p.Draw()
			if !re.MatchString(n) || !p.Match(n) {
				t.Fatalf("%s drew %s", c.pattern, n)
			}
		}
		if p.Match("x" + p.Draw()) {
			t.Fatalf("%s matches a letter", c.pattern)
		}
	}
	for _, bad := range []string{`[5-3]\d{8}`, `[]\d{8}`, `12\d{2}`, `\d{25}`, `\d{2,30}`, `a\d{8}`, `\d{8`, `[0-9\d{8}`, `\D{8}`, `\d{3,2}`, `(\d{8})`, `\d{8}|1`, `1{0}`, `\d{3}`} {
		if _, err := ParseCardPattern("p", bad); err == nil || CodeOf(err) != CodeValidationFailed {
			t.Errorf("%q accepted (%v)", bad, err)
		}
	}
}

func TestCheckCardRef(t *testing.T) {
	n := NewCardNumber()
	if CheckCardRef("card", n) != nil {
		t.Fatalf("a drawn number refused: %s", n)
	}
	bad := n[:15] + string('0'+(n[15]-'0'+1)%10)
	if CheckCardRef("card", bad) == nil {
		t.Fatalf("a wrong check digit passed: %s", bad)
	}
	if CheckCardRef("card", "1234567890123456") != nil || CheckCardRef("card", "77123") != nil {
		t.Fatal("a number not of our shape is checked")
	}
}
