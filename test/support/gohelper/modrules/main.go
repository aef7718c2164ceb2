// Command modrules answers questions about Go's module path and version rules with
// golang.org/x/mod itself, so the TypeScript port can be compared with the reference.
//
// Input: one JSON request per line on stdin, {"op": NAME, "a": ..., "b": ..., ...}.
// Output: one JSON answer per request line, {"val": RESULT, "err": MESSAGE or null}.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

type request struct {
	Op    string      `json:"op"`
	A     string      `json:"a"`
	B     string      `json:"b"`
	C     string      `json:"c"`
	Unix  int64       `json:"unix"`
	List  []string    `json:"list"`
	Pairs [][2]string `json:"pairs"`
}

type answer struct {
	Val any     `json:"val"`
	Err *string `json:"err"`
}

func errText(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}

func answerFor(r request) (ans answer) {
	defer func() {
		if p := recover(); p != nil {
			s := fmt.Sprintf("panic: %v", p)
			ans = answer{Err: &s}
		}
	}()
	switch r.Op {
	case "checkPath":
		return answer{Err: errText(module.CheckPath(r.A))}
	case "checkImportPath":
		return answer{Err: errText(module.CheckImportPath(r.A))}
	case "checkFilePath":
		return answer{Err: errText(module.CheckFilePath(r.A))}
	case "escapePath":
		v, err := module.EscapePath(r.A)
		return answer{Val: v, Err: errText(err)}
	case "unescapePath":
		v, err := module.UnescapePath(r.A)
		return answer{Val: v, Err: errText(err)}
	case "escapeVersion":
		v, err := module.EscapeVersion(r.A)
		return answer{Val: v, Err: errText(err)}
	case "unescapeVersion":
		v, err := module.UnescapeVersion(r.A)
		return answer{Val: v, Err: errText(err)}
	case "splitPathVersion":
		prefix, pathMajor, ok := module.SplitPathVersion(r.A)
		return answer{Val: map[string]any{"prefix": prefix, "pathMajor": pathMajor, "ok": ok}}
	case "checkPathMajor":
		return answer{Err: errText(module.CheckPathMajor(r.A, r.B))}
	case "matchPathMajor":
		return answer{Val: module.MatchPathMajor(r.A, r.B)}
	case "check":
		return answer{Err: errText(module.Check(r.A, r.B))}
	case "canonicalVersion":
		return answer{Val: module.CanonicalVersion(r.A)}
	case "isValid":
		return answer{Val: semver.IsValid(r.A)}
	case "canonical":
		return answer{Val: semver.Canonical(r.A)}
	case "compare":
		return answer{Val: semver.Compare(r.A, r.B)}
	case "major":
		return answer{Val: semver.Major(r.A)}
	case "majorMinor":
		return answer{Val: semver.MajorMinor(r.A)}
	case "prerelease":
		return answer{Val: semver.Prerelease(r.A)}
	case "build":
		return answer{Val: semver.Build(r.A)}
	case "max":
		return answer{Val: semver.Max(r.A, r.B)}
	case "sort":
		list := append([]string{}, r.List...)
		semver.Sort(list)
		return answer{Val: list}
	case "moduleSort":
		list := make([]module.Version, len(r.Pairs))
		for i, p := range r.Pairs {
			list[i] = module.Version{Path: p[0], Version: p[1]}
		}
		module.Sort(list)
		out := make([][2]string, len(list))
		for i, m := range list {
			out[i] = [2]string{m.Path, m.Version}
		}
		return answer{Val: out}
	case "isPseudoVersion":
		return answer{Val: module.IsPseudoVersion(r.A)}
	case "pseudoVersionTime":
		t, err := module.PseudoVersionTime(r.A)
		if err != nil {
			return answer{Err: errText(err)}
		}
		return answer{Val: t.Unix()}
	case "pseudoVersionRev":
		v, err := module.PseudoVersionRev(r.A)
		return answer{Val: v, Err: errText(err)}
	case "pseudoVersionBase":
		v, err := module.PseudoVersionBase(r.A)
		return answer{Val: v, Err: errText(err)}
	case "pseudoVersion":
		return answer{Val: module.PseudoVersion(r.A, r.B, time.Unix(r.Unix, 0), r.C)}
	case "zeroPseudoVersion":
		return answer{Val: module.ZeroPseudoVersion(r.A)}
	case "isZeroPseudoVersion":
		return answer{Val: module.IsZeroPseudoVersion(r.A)}
	case "match":
		ok, err := path.Match(r.A, r.B)
		return answer{Val: ok, Err: errText(err)}
	case "matchPrefixPatterns":
		return answer{Val: module.MatchPrefixPatterns(r.A, r.B)}
	case "parseLaxBase64":
		// A go.mod's bytes, base64 (they need not be UTF-8), parsed as the go command parses a
		// dependency's: the module path it declares (null without a module line), or the error.
		data, err := base64.StdEncoding.DecodeString(r.A)
		if err != nil {
			return answer{Err: errText(err)}
		}
		f, err := modfile.ParseLax("go.mod", data, nil)
		if err != nil {
			return answer{Err: errText(err)}
		}
		if f.Module == nil {
			return answer{}
		}
		return answer{Val: f.Module.Mod.Path}
	}
	s := "unknown op " + r.Op
	return answer{Err: &s}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			fmt.Fprintf(os.Stderr, "modrules: bad request %q: %v\n", in.Text(), err)
			os.Exit(2)
		}
		if err := enc.Encode(answerFor(r)); err != nil {
			fmt.Fprintf(os.Stderr, "modrules: %v\n", err)
			os.Exit(2)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "modrules: %v\n", err)
		os.Exit(2)
	}
}
