package servicename

import (
	"os"
	"regexp"
	"testing"
)

func TestModulePathIsGoModsModule(t *testing.T) {
	b, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^module (\S+)$`).FindSubmatch(b)
	if m == nil || string(m[1]) != ModulePath {
		t.Errorf("ModulePath %q, go.mod says %q", ModulePath, m)
	}
}

func TestNameIsAnIdentifier(t *testing.T) {
	// It prefixes metric names, SQL role and channel names and environment variables.
	if !regexp.MustCompile(`^[a-z][a-z0-9]*$`).MatchString(Name) {
		t.Errorf("Name %q: want lower-case letters and digits", Name)
	}
}
