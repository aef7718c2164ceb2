// Command modfixture writes Go modules as a GOPROXY tree, using golang.org/x/mod as the
// reference for everything the go command checks: case escaping of paths and versions,
// the module zip (zip.CreateFromDir) and the h1: hashes go.sum records.
//
// Input (JSON on stdin):
//
//	{"root": "/dir", "modules": [{"path": "example.test/a", "version": "v1.0.0",
//	  "time": "2024-01-02T03:04:05Z", "files": {"a.go": "package a\n"},
//	  "padding": {"file": "data.bin", "bytes": 1000, "seed": 1}, "unlisted": false}]}
//
// Output (JSON on stdout): one entry per module, in input order, with the escaped names,
// the written files, the zip size, and the zip and go.mod hashes.
//
// A module without a go.mod file gets `module <path>\n` as its .mod, as the go command
// synthesizes it. Versions of one path are merged into an existing @v/list, sorted by semver;
// pseudo-versions and modules marked unlisted stay out of it. @latest holds the .info of the
// highest listed release (or pre-release when there is no release).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/zip"
)

type padding struct {
	File  string `json:"file"`
	Bytes int64  `json:"bytes"`
	Seed  uint64 `json:"seed"`
}

type moduleSpec struct {
	Path     string            `json:"path"`
	Version  string            `json:"version"`
	Time     string            `json:"time"`
	Files    map[string]string `json:"files"`
	Padding  *padding          `json:"padding"`
	Unlisted bool              `json:"unlisted"`
}

type request struct {
	Root    string       `json:"root"`
	Modules []moduleSpec `json:"modules"`
}

type result struct {
	Path           string `json:"path"`
	Version        string `json:"version"`
	EscapedPath    string `json:"escapedPath"`
	EscapedVersion string `json:"escapedVersion"`
	Time           string `json:"time"`
	InfoFile       string `json:"infoFile"`
	ModFile        string `json:"modFile"`
	ZipFile        string `json:"zipFile"`
	ZipSize        int64  `json:"zipSize"`
	ZipHash        string `json:"zipHash"`
	ModHash        string `json:"modHash"`
	GoMod          string `json:"goMod"`
	HasGoMod       bool   `json:"hasGoMod"`
}

type info struct {
	Version string
	Time    string
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fail("reading the request from stdin: %v", err)
	}
	if req.Root == "" {
		fail("the request has no root directory")
	}
	results := make([]result, 0, len(req.Modules))
	touched := map[string]bool{}
	for _, m := range req.Modules {
		r, err := write(req.Root, m)
		if err != nil {
			fail("module %s@%s: %v", m.Path, m.Version, err)
		}
		results = append(results, r)
		if !m.Unlisted && !module.IsPseudoVersion(m.Version) {
			if err := addToList(req.Root, r.EscapedPath, m.Version); err != nil {
				fail("module %s: %v", m.Path, err)
			}
		}
		touched[r.EscapedPath] = true
	}
	for escPath := range touched {
		if err := writeLatest(req.Root, escPath); err != nil {
			fail("latest of %s: %v", escPath, err)
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(results); err != nil {
		fail("writing the result: %v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "modfixture: "+format+"\n", args...)
	os.Exit(1)
}

func write(root string, m moduleSpec) (result, error) {
	mv := module.Version{Path: m.Path, Version: m.Version}
	if err := module.Check(m.Path, m.Version); err != nil {
		return result{}, err
	}
	escPath, err := module.EscapePath(m.Path)
	if err != nil {
		return result{}, err
	}
	escVersion, err := module.EscapeVersion(m.Version)
	if err != nil {
		return result{}, err
	}
	t := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	if m.Time != "" {
		if t, err = time.Parse(time.RFC3339, m.Time); err != nil {
			return result{}, fmt.Errorf("time %q is not RFC 3339: %v", m.Time, err)
		}
	}
	timeText := t.UTC().Format(time.RFC3339)

	src, err := os.MkdirTemp("", "modfixture-src-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(src)
	for name, content := range m.Files {
		if err := writeFile(filepath.Join(src, filepath.FromSlash(name)), []byte(content)); err != nil {
			return result{}, err
		}
	}
	if p := m.Padding; p != nil {
		if err := writePadding(filepath.Join(src, filepath.FromSlash(p.File)), p.Bytes, p.Seed); err != nil {
			return result{}, err
		}
	}

	goMod, hasGoMod := m.Files["go.mod"]
	if !hasGoMod {
		goMod = "module " + modfileQuote(m.Path) + "\n"
	}

	dir := filepath.Join(root, filepath.FromSlash(escPath), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return result{}, err
	}
	base := filepath.Join(dir, escVersion)
	infoJSON, err := json.Marshal(info{Version: m.Version, Time: timeText})
	if err != nil {
		return result{}, err
	}
	if err := os.WriteFile(base+".info", infoJSON, 0o644); err != nil {
		return result{}, err
	}
	if err := os.WriteFile(base+".mod", []byte(goMod), 0o644); err != nil {
		return result{}, err
	}
	zf, err := os.Create(base + ".zip")
	if err != nil {
		return result{}, err
	}
	if err := zip.CreateFromDir(zf, mv, src); err != nil {
		zf.Close()
		return result{}, fmt.Errorf("zip.CreateFromDir: %v", err)
	}
	if err := zf.Close(); err != nil {
		return result{}, err
	}
	zipHash, err := dirhash.HashZip(base+".zip", dirhash.Hash1)
	if err != nil {
		return result{}, err
	}
	modHash, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(goMod)), nil
	})
	if err != nil {
		return result{}, err
	}
	st, err := os.Stat(base + ".zip")
	if err != nil {
		return result{}, err
	}
	return result{
		Path: m.Path, Version: m.Version, EscapedPath: escPath, EscapedVersion: escVersion, Time: timeText,
		InfoFile: base + ".info", ModFile: base + ".mod", ZipFile: base + ".zip", ZipSize: st.Size(),
		ZipHash: zipHash, ModHash: modHash, GoMod: goMod, HasGoMod: hasGoMod,
	}, nil
}

// modfileQuote quotes a module path the way modfile.AutoQuote does: only when it needs it.
func modfileQuote(p string) string {
	if strings.ContainsAny(p, " \t\"'`()[]{},") || p == "" {
		return fmt.Sprintf("%q", p)
	}
	return p
}

func writeFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o644)
}

// writePadding writes n bytes from a seeded ChaCha8 stream: deterministic and incompressible,
// so the module zip is really about n bytes.
func writePadding(name string, n int64, seed uint64) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	var key [32]byte
	for i := 0; i < 8; i++ {
		key[i] = byte(seed >> (8 * i))
	}
	rng := rand.NewChaCha8(key)
	buf := make([]byte, 1<<16)
	for n > 0 {
		chunk := int64(len(buf))
		if n < chunk {
			chunk = n
		}
		if _, err := rng.Read(buf[:chunk]); err != nil {
			f.Close()
			return err
		}
		if _, err := f.Write(buf[:chunk]); err != nil {
			f.Close()
			return err
		}
		n -= chunk
	}
	return f.Close()
}

func addToList(root, escPath, version string) error {
	name := filepath.Join(root, filepath.FromSlash(escPath), "@v", "list")
	seen := map[string]bool{version: true}
	if data, err := os.ReadFile(name); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				seen[line] = true
			}
		}
	}
	versions := make([]string, 0, len(seen))
	for v := range seen {
		versions = append(versions, v)
	}
	semver.Sort(versions)
	return os.WriteFile(name, []byte(strings.Join(versions, "\n")+"\n"), 0o644)
}

func writeLatest(root, escPath string) error {
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(escPath), "@v", "list"))
	if err != nil {
		return nil // nothing listed (only pseudo-versions): no @latest either
	}
	var release, pre string
	for _, v := range strings.Fields(string(data)) {
		if semver.Prerelease(v) == "" {
			if release == "" || semver.Compare(v, release) > 0 {
				release = v
			}
		} else if pre == "" || semver.Compare(v, pre) > 0 {
			pre = v
		}
	}
	latest := release
	if latest == "" {
		latest = pre
	}
	if latest == "" {
		return nil
	}
	escVersion, err := module.EscapeVersion(latest)
	if err != nil {
		return err
	}
	infoData, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(escPath), "@v", escVersion+".info"))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, filepath.FromSlash(escPath), "@latest"), infoData, 0o644)
}
