package access

import (
	"context"
	"testing"
)

func TestRoles(t *testing.T) {
	for _, tc := range []struct {
		role                      Role
		canRun, seesAll           bool
		ownsOwn, ownsOther, valid bool
	}{
		{Admin, true, true, true, true, true},
		{Operator, true, false, true, false, true},
		// A viewer runs nothing, so it owns nothing either; nor does a
		// principal whose role is not one.
		{Viewer, false, false, false, false, true},
		{"", false, false, false, false, false},
		{"root", false, false, false, false, false},
	} {
		if got := tc.role.CanRun(); got != tc.canRun {
			t.Errorf("%q.CanRun() = %v, want %v", tc.role, got, tc.canRun)
		}
		if got := tc.role.SeesAll(); got != tc.seesAll {
			t.Errorf("%q.SeesAll() = %v, want %v", tc.role, got, tc.seesAll)
		}
		p := Principal{Name: "a", Role: tc.role}
		if got := p.Owns("a"); got != tc.ownsOwn {
			t.Errorf("%v.Owns(a) = %v, want %v", p, got, tc.ownsOwn)
		}
		if (Principal{Role: tc.role}).Owns("") != tc.seesAll {
			t.Errorf("a nameless %q owns what has no owner", tc.role)
		}
		if got := p.Owns("b"); got != tc.ownsOther {
			t.Errorf("%v.Owns(b) = %v, want %v", p, got, tc.ownsOther)
		}
		_, err := ParseRole(string(tc.role))
		if (err == nil) != tc.valid {
			t.Errorf("ParseRole(%q) error = %v, want valid %v", tc.role, err, tc.valid)
		}
	}
}

func TestContext(t *testing.T) {
	if _, ok := FromContext(context.Background()); ok {
		t.Fatal("an empty context carries a principal")
	}
	want := Principal{Name: "ci", Role: Operator}
	got, ok := FromContext(WithPrincipal(context.Background(), want))
	if !ok || got != want {
		t.Fatalf("FromContext = %v, %v; want %v", got, ok, want)
	}
}
