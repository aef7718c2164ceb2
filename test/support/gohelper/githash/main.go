// Command githash gives the git-source tests reference answers from golang.org/x/mod:
//
//	githash zip FILE PATH VERSION   -> {"h1":..., "valid":[...], "err":...}  (zip.CheckZip + dirhash.HashZip)
//	githash mod FILE                 -> {"h1":...}                             (the go.sum /go.mod hash)
//	githash checkfiles DIR           -> {"valid":[...],"omitted":[...],"invalid":[...]} (zip.CheckFiles over every
//	                                    non-directory entry of DIR, in lexical walk order, symlinks as symlinks)
//	githash modpath FILE             -> {"path":...}                           (modfile.ModulePath)
//	githash retract FILE             -> {"retract":[[low,high],...]}           (modfile.ParseLax retractions)
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

type result struct {
	H1      string      `json:"h1,omitempty"`
	Valid   []string    `json:"valid,omitempty"`
	Omitted []fileError `json:"omitted,omitempty"`
	Invalid []fileError `json:"invalid,omitempty"`
	Size    string      `json:"sizeError,omitempty"`
	Path    *string     `json:"path,omitempty"`
	Retract [][2]string `json:"retract,omitempty"`
	Err     string      `json:"err,omitempty"`
}

type fileError struct {
	Path string `json:"path"`
	Err  string `json:"err"`
}

type diskFile struct {
	rel, abs string
	info     fs.FileInfo
}

func (f diskFile) Path() string                 { return f.rel }
func (f diskFile) Lstat() (fs.FileInfo, error)  { return f.info, nil }
func (f diskFile) Open() (io.ReadCloser, error) { return os.Open(f.abs) }

func checkFiles(dir string) (r result) {
	var files []modzip.File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files = append(files, diskFile{filepath.ToSlash(rel), p, info})
		return nil
	})
	if err != nil {
		r.Err = err.Error()
		return r
	}
	cf, _ := modzip.CheckFiles(files)
	r.Valid = cf.Valid
	for _, e := range cf.Omitted {
		r.Omitted = append(r.Omitted, fileError{e.Path, e.Err.Error()})
	}
	for _, e := range cf.Invalid {
		r.Invalid = append(r.Invalid, fileError{e.Path, e.Err.Error()})
	}
	if cf.SizeError != nil {
		r.Size = cf.SizeError.Error()
	}
	return r
}

func main() {
	var r result
	switch {
	case len(os.Args) == 5 && os.Args[1] == "zip":
		cf, err := modzip.CheckZip(module.Version{Path: os.Args[3], Version: os.Args[4]}, os.Args[2])
		r.Valid = cf.Valid
		if err != nil {
			r.Err = err.Error()
		} else if h, err := dirhash.HashZip(os.Args[2], dirhash.Hash1); err != nil {
			r.Err = err.Error()
		} else {
			r.H1 = h
		}
	case len(os.Args) == 3 && os.Args[1] == "mod":
		data, err := os.ReadFile(os.Args[2])
		if err != nil {
			r.Err = err.Error()
			break
		}
		h, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(string(data))), nil
		})
		if err != nil {
			r.Err = err.Error()
		}
		r.H1 = h
	case len(os.Args) == 3 && os.Args[1] == "checkfiles":
		r = checkFiles(os.Args[2])
	case len(os.Args) == 3 && os.Args[1] == "modpath":
		data, err := os.ReadFile(os.Args[2])
		if err != nil {
			r.Err = err.Error()
			break
		}
		p := modfile.ModulePath(data)
		r.Path = &p
	case len(os.Args) == 3 && os.Args[1] == "retract":
		data, err := os.ReadFile(os.Args[2])
		if err != nil {
			r.Err = err.Error()
			break
		}
		f, err := modfile.ParseLax("go.mod", data, nil)
		if err != nil {
			r.Err = err.Error()
			break
		}
		r.Retract = [][2]string{}
		for _, x := range f.Retract {
			r.Retract = append(r.Retract, [2]string{x.Low, x.High})
		}
	default:
		fmt.Fprintln(os.Stderr, "usage: githash zip FILE PATH VERSION | mod FILE | checkfiles DIR | modpath FILE | retract FILE")
		os.Exit(2)
	}
	json.NewEncoder(os.Stdout).Encode(r)
}
