package api

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"go.yaml.in/yaml/v3"
)

// TestSpecValidForASecondValidator validates the contract with pb33f's
// libopenapi-validator, independent of kin-openapi (TestSpecValid), as a gateway or a
// client-side validator in front of the service would: the document against the
// OpenAPI schema, including that every pattern is a regular expression its
// (Go-regexp-based) JSON Schema engine compiles.
func TestSpecValidForASecondValidator(t *testing.T) {
	spec, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		t.Fatalf("libopenapi cannot read the contract: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("libopenapi-validator cannot build the contract: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  line %d, %s: %s", se.Line, se.FieldPath, se.Reason)
			}
		}
	}
}

// TestSpecPatternsCompileInGo: every pattern of the contract compiles with Go's own
// regexp, unchanged (kin-openapi rewrites \uXXXX before compiling; other Go validators
// do not), and is written in the part of the syntax ECMA-262 and Go read alike: no
// escape that one of them reads otherwise or refuses (\u, \x{...}, \p, \A, \z, \Q,
// (?flags), [[:class:]]). A character outside ASCII is written as itself (a YAML
// double-quoted escape produces it), never as a regexp escape.
func TestSpecPatternsCompileInGo(t *testing.T) {
	patterns := specPatterns(t)
	if len(patterns) < 20 {
		t.Fatalf("found only %d patterns; is the walk of the document broken?", len(patterns))
	}
	notCommon := regexp.MustCompile(`\\[upPAzZQEC]|\\x\{|\(\?|\[\[:`)
	for _, p := range patterns {
		if _, err := regexp.Compile(p.pattern); err != nil {
			t.Errorf("%s: pattern %q does not compile in Go: %v", p.where, p.pattern, err)
		}
		if m := notCommon.FindString(p.pattern); m != "" {
			t.Errorf("%s: pattern %q uses %q, which ECMA-262 and Go's regexp do not read alike", p.where, p.pattern, m)
		}
	}
}

type specPattern struct{ where, pattern string }

// specPatterns walks the YAML document for every "pattern" key with a string value.
func specPatterns(t *testing.T) []specPattern {
	t.Helper()
	raw, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	var out []specPattern
	var walk func(n *yaml.Node, path []string)
	walk = func(n *yaml.Node, path []string) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "pattern" && v.Kind == yaml.ScalarNode {
					out = append(out, specPattern{where: strings.Join(path, "/") + " (line " + itoa(v.Line) + ")", pattern: v.Value})
					continue
				}
				walk(v, append(path, k.Value))
			}
		}
	}
	walk(&root, nil)
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSpecPatternsMeanTheSameInECMAScript matches sample strings against every pattern
// with Go's regexp and, where node is installed, with ECMAScript's RegExp (the dialect
// JSON Schema names, with the u flag as JSON Schema validators use it): both must give
// the same answer for every sample.
func TestSpecPatternsMeanTheSameInECMAScript(t *testing.T) {
	samples := []string{
		"", "a", "ACME Corp", "cust-42", "SKU-1", "EUR", "eur", "1043", "0", "2s", "10000ms", "abc_DEF-1",
		"order_placed", "OrderPlaced", `"3"`, `W/"3", "4"`, "*", "req-7d1c9e2a", "3.0.4", "GET, HEAD",
		`Bearer error="invalid_token"`, "a b",
		"nul\x00", "tab\there", "line\nfeed", "cr\r", "del\x7f", "c1\u0085", "c1-last\u009f", "nbsp\u00a0",
		" ", "\u00a0", "\u3000", "\u2028", " \u2000 ", "x\u3000", "é", "😀", "\u1680", "\u200b",
	}
	node, err := exec.LookPath("node")
	patterns := specPatterns(t)
	goAnswers := make([][]bool, len(patterns))
	for i, p := range patterns {
		re, err := regexp.Compile(p.pattern)
		if err != nil {
			t.Fatalf("%s: %v", p.where, err)
		}
		for _, s := range samples {
			goAnswers[i] = append(goAnswers[i], re.MatchString(s))
		}
	}
	if err != nil {
		t.Skip("node is not installed: the ECMAScript side is not checked (TestSpecPatternsCompileInGo still checks the syntax)")
	}
	in, err := json.Marshal(map[string]any{"patterns": patternsOf(patterns), "samples": samples})
	if err != nil {
		t.Fatal(err)
	}
	const script = `let d = ''; process.stdin.on('data', c => d += c).on('end', () => {
		const {patterns, samples} = JSON.parse(d);
		console.log(JSON.stringify(patterns.map(p => { const re = new RegExp(p, 'u'); return samples.map(s => re.test(s)); })));
	});`
	cmd := exec.Command(node, "-e", script)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var ecma [][]bool
	if err := json.Unmarshal(out, &ecma); err != nil {
		t.Fatalf("node's answer %q: %v", out, err)
	}
	for i, p := range patterns {
		for j, s := range samples {
			if goAnswers[i][j] != ecma[i][j] {
				t.Errorf("%s: pattern %q on %q: Go says %v, ECMAScript %v", p.where, p.pattern, s, goAnswers[i][j], ecma[i][j])
			}
		}
	}
}

func patternsOf(ps []specPattern) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.pattern
	}
	return out
}
