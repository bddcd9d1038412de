package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// configFile is the configuration file as read: where each key is, and what could not be read.
type configFile struct {
	// lines and values hold each key path (budgets[0].amount) of the file: its line, and its
	// value.
	lines  map[string]int
	values map[string]*yaml.Node
	// atLine is the path of the deepest key or list item on each line, and named the path of
	// the first key of each name on each line: where yaml.v3's messages, which give only a line
	// (and a key's name), point. Indexed in the one walk of index: looking each message up by
	// walking the whole file again made N problems cost N walks of N nodes (a 12 KB file of
	// wrong-typed list items took seconds, 120 KB nearly two minutes).
	atLine map[int]string
	named  map[lineName]string
	// problems are the keys that could not be read: unknown keys, values of the wrong type,
	// repeated keys; each as "key: problem (line N)".
	problems []string
	// unread are the key paths whose value the configuration does not hold (a wrong type, or a
	// mapping with a repeated key, which yaml.v3 skips whole): checking what the configuration
	// holds there instead would report a value the user did not write.
	unread []string
	// read: a file was read (a default path that does not exist is none).
	read bool
}

// lineName is a key's line and name.
type lineName struct {
	line int
	name string
}

// configPath is the file to read (path, else AISPEND_CONFIG, else ./aispend.yaml) and whether
// it was named, so that it must exist.
func configPath(path string, getenv func(string) string) (string, bool) {
	if path == "" {
		path = getenv("AISPEND_CONFIG")
	}
	if path != "" {
		return path, true
	}
	return "aispend.yaml", false
}

// readConfigFile decodes the file at path into cfg. Every key that cannot be read is listed in
// the result's problems and decoding goes on; only a file that is not YAML at all (a syntax
// error) is an error. A default path that does not exist is no file.
func readConfigFile(cfg *Config, path string, explicit bool) (*configFile, error) {
	f := &configFile{lines: map[string]int{}, values: map[string]*yaml.Node{}, atLine: map[int]string{}, named: map[lineName]string{}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && !explicit:
		return f, nil
	case err != nil:
		return nil, fmt.Errorf("read config: %w", err)
	}
	f.read = true
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	err = dec.Decode(cfg)
	var te *yaml.TypeError
	var lines []string
	switch {
	case err == nil || errors.Is(err, io.EOF):
	case errors.As(err, &te):
		lines = te.Errors
	case lineMsg.MatchString(err.Error()):
		lines = []string{err.Error()} // from an UnmarshalYAML, e.g. Dec's
	default:
		return nil, syntaxError(path, b, err)
	}
	// Read again as nodes, for the line of each key (the file is YAML, so this parses).
	var root yaml.Node
	_ = yaml.Unmarshal(b, &root)
	f.index(&root, "")
	for _, l := range lines {
		f.decodeProblem(l)
	}
	return f, nil
}

// syntaxError is a file that is not YAML, with the line of the error.
func syntaxError(path string, b []byte, err error) error {
	msg := err.Error()
	if !yamlLine.MatchString(msg) {
		// yaml.v3 leaves the line out of the YAML reader's errors (bad UTF-8, control
		// characters), and of every error on line 1 (its marks count from 0, and 0 reads as "no
		// position").
		n := badByteLine(b)
		if n == 0 {
			n = 1
		}
		msg = strings.Replace(msg, "yaml: ", fmt.Sprintf("yaml: line %d: ", n), 1)
	}
	return fmt.Errorf("read config %s: %s", path, msg)
}

// index records the line and value of every key path under node.
func (f *configFile) index(node *yaml.Node, path string) {
	switch node.Kind {
	case yaml.DocumentNode:
		for _, c := range node.Content {
			f.index(c, path)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			p := joinKey(path, k.Value)
			if _, seen := f.lines[p]; !seen { // a repeated key: the first one counts
				f.lines[p], f.values[p] = k.Line, v
			}
			if kn := (lineName{k.Line, k.Value}); f.named[kn] == "" {
				f.named[kn] = p
			}
			// Deeper and later keys on the same line replace earlier ones: the walk is in
			// document order.
			f.atLine[k.Line], f.atLine[v.Line] = p, p
			f.index(v, p)
		}
	case yaml.SequenceNode:
		for i, c := range node.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			f.lines[p], f.values[p] = c.Line, c
			f.atLine[c.Line] = p
			f.index(c, p)
		}
	}
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decodeProblem turns one of yaml.v3's messages ("line 8: field bogus not found in type
// main.Config") into the user's words ("bogus: unknown key (line 8)").
func (f *configFile) decodeProblem(l string) {
	m := lineMsg.FindStringSubmatch(l)
	if m == nil {
		f.problems = append(f.problems, "(top level): "+l)
		return
	}
	n, _ := strconv.Atoi(m[1])
	msg, key := m[2], ""
	if k := unknownField.FindStringSubmatch(msg); k != nil {
		key, msg = f.namedKey(n, k[1]), "unknown key"
	} else if k = duplicateKey.FindStringSubmatch(msg); k != nil {
		name, _ := strconv.Unquote(`"` + k[1] + `"`)
		key, msg = f.namedKey(n, name), "defined twice, first at line "+k[2]
		// yaml.v3 reads nothing of a mapping with a repeated key.
		f.unread = append(f.unread, parentKey(strings.TrimSuffix(f.named[lineName{n, name}], name)))
	} else if strings.HasSuffix(msg, "into main.Config") {
		msg = "want a mapping of keys such as currency and timezone"
	} else {
		key = f.atLine[n]
		f.unread = append(f.unread, key)
		if t := wrongType.FindStringSubmatch(msg); t != nil {
			msg = wrongTypeWords(t[1], f.values[key], t[2])
		}
	}
	if key == "" {
		key = "(top level)"
	}
	f.problems = append(f.problems, fmt.Sprintf("%s: %s (line %d)", key, msg, n))
}

// namedKey is the path of the key called name on line n, name quoted when it is not a plain
// word ("p.0000", "a b": one key, not a path).
func (f *configFile) namedKey(n int, name string) string {
	parent := strings.TrimSuffix(f.named[lineName{n, name}], name)
	if !plainKey.MatchString(name) {
		name = strconv.Quote(name)
	}
	return parent + name
}

// parentKey is "budgets[0]" for "budgets[0].", "" for "".
func parentKey(withDot string) string { return strings.TrimSuffix(withDot, ".") }

// wrongTypeWords says what a value of the wrong type is and what the key wants, from yaml.v3's
// tag of the value and Go type of the key: `"ninety" is not an integer`, `want true or false,
// not a list`.
func wrongTypeWords(tag string, value *yaml.Node, goType string) string {
	want := goType
	switch {
	case goType == "int" || goType == "int64":
		want = "an integer"
		if tag == "!!int" && value != nil {
			return fmt.Sprintf("%s is too large", value.Value)
		}
	case goType == "bool" || goType == "*bool":
		want = "true or false"
	case goType == "time.Duration":
		want = "a duration such as 10m or 24h"
	case goType == "string":
		want = "a single value"
	case strings.HasPrefix(goType, "[]"):
		want = "a list"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "main."):
		want = "a mapping of keys"
	}
	switch {
	case tag == "!!seq":
		return "want " + want + ", not a list"
	case tag == "!!map":
		return "want " + want + ", not a mapping"
	case value == nil:
		return "want " + want
	}
	return fmt.Sprintf("%q is not %s", value.Value, want)
}

var (
	lineMsg      = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (.*) not found in type `)
	duplicateKey = regexp.MustCompile(`^mapping key "((?:[^"\\]|\\.)*)" already defined at line (\d+)$`)
	wrongType    = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `.*`)? into (.+)$")
	plainKey     = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	yamlLine     = regexp.MustCompile(`^yaml: line \d+: `)
)

// badByteLine is the line of the first byte the YAML reader refuses (invalid UTF-8 or a control
// character), or 0.
func badByteLine(b []byte) int {
	line := 1
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		switch {
		case r == '\n':
			line++
		case r == '\t' || r == '\r':
		case r < 0x20 || (r >= 0x7f && r <= 0x9f && r != 0x85) || r == 0xfffe || r == 0xffff || (r >= 0xd800 && r <= 0xdfff):
			return line
		}
		i += size
	}
	return 0
}
