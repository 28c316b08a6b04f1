package debug

import (
	"strconv"
	"strings"
	"testing"
)

func TestHitConditions(t *testing.T) {
	cases := map[string]string{ // condition → the hits of 1..12 that stop
		"":     "1 2 3 4 5 6 7 8 9 10 11 12",
		"5":    "5",
		"== 5": "5",
		"=5":   "5",
		">= 3": "3 4 5 6 7 8 9 10 11 12",
		">10":  "11 12",
		"< 3":  "1 2",
		"<= 1": "1",
		"!= 2": "1 3 4 5 6 7 8 9 10 11 12",
		"% 5":  "5 10",
	}
	for src, want := range cases {
		h, err := parseHitCondition(src)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		var got []string
		for n := int64(1); n <= 12; n++ {
			if h.stops(n) {
				got = append(got, strconv.FormatInt(n, 10))
			}
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%q stops at %v, want %s", src, got, want)
		}
	}
	for _, bad := range []string{"often", "% 0", "> -1", ">= 3.5", "5 5", "=="} {
		if _, err := parseHitCondition(bad); err == nil || !strings.Contains(err.Error(), "hit_condition") {
			t.Errorf("%q: error %v", bad, err)
		}
	}
}

func FuzzHitCondition(f *testing.F) {
	for _, s := range []string{"5", ">= 3", "% 10", "", "!=0", "%-1"} {
		f.Add(s, int64(7))
	}
	f.Fuzz(func(t *testing.T, src string, hit int64) {
		h, err := parseHitCondition(src)
		if err != nil {
			return
		}
		h.stops(hit) // never panics (no modulo by zero)
	})
}
