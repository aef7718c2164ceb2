// Command sumdbref gives the test suite reference answers from golang.org/x/mod's sumdb packages:
// h1 hashes, signed notes, transparency-log vectors and a checksum database server on loopback.
//
//	sumdbref hashzip FILE...          h1 of each zip (dirhash.HashZip), one per line
//	sumdbref hashmod FILE...          h1 of each file taken as a go.mod, one per line
//	sumdbref genkey NAME              signer key, then verifier key, one per line
//	sumdbref sign SKEY...             signs the note text on stdin with each signer key
//	sumdbref tlog HEIGHT              reads records (one per line) on stdin, prints JSON vectors
//	sumdbref tilepath                 reads "H L N W" lines on stdin, prints each tile's path
//	sumdbref serve SKEY               reads JSON [{path,version,zip,mod}] on stdin, serves a
//	                                  checksum database on 127.0.0.1 holding them (in that order)
//	                                  and prints its URL; runs until killed
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("sumdbref: ")
	if len(os.Args) < 2 {
		log.Fatal("usage: sumdbref hashzip|hashmod|genkey|sign|tlog|tilepath|serve ...")
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "hashzip":
		for _, f := range args {
			h, err := dirhash.HashZip(f, dirhash.Hash1)
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println(h)
		}
	case "hashmod":
		for _, f := range args {
			data, err := os.ReadFile(f)
			if err != nil {
				log.Fatal(err)
			}
			h, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
				return io.NopCloser(strings.NewReader(string(data))), nil
			})
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println(h)
		}
	case "genkey":
		skey, vkey, err := note.GenerateKey(rand.Reader, args[0])
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(skey)
		fmt.Println(vkey)
	case "sign":
		text, err := io.ReadAll(os.Stdin)
		if err != nil {
			log.Fatal(err)
		}
		var signers []note.Signer
		for _, k := range args {
			s, err := note.NewSigner(k)
			if err != nil {
				log.Fatal(err)
			}
			signers = append(signers, s)
		}
		msg, err := note.Sign(&note.Note{Text: string(text)}, signers...)
		if err != nil {
			log.Fatal(err)
		}
		os.Stdout.Write(msg)
	case "tlog":
		height, err := strconv.Atoi(args[0])
		if err != nil {
			log.Fatal(err)
		}
		tlogVectors(height)
	case "tilepath":
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			var t tlog.Tile
			if _, err := fmt.Sscan(sc.Text(), &t.H, &t.L, &t.N, &t.W); err != nil {
				log.Fatal(err)
			}
			fmt.Println(t.Path())
		}
	case "serve":
		serve(args[0])
	default:
		log.Fatalf("unknown mode %q", os.Args[1])
	}
}

type hashes []tlog.Hash

func (h hashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = h[x]
	}
	return out, nil
}

type proof struct {
	T     int64    `json:"t"`
	N     int64    `json:"n"`
	Proof []string `json:"proof"`
}

type tileVector struct {
	Path string `json:"path"`
	H    int    `json:"h"`
	L    int    `json:"l"`
	N    int64  `json:"n"`
	W    int    `json:"w"`
	Data string `json:"data"`
}

func b64(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.String()
	}
	return out
}

// tlogVectors builds a log from the records on stdin and prints every derived value the
// TypeScript implementation must reproduce.
func tlogVectors(height int) {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		log.Fatal(err)
	}
	records := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var stored hashes
	var recordHashes, treeHashes []string
	var counts []int64
	treeHashes = append(treeHashes, must(tlog.TreeHash(0, stored)).String())
	counts = append(counts, 0)
	for i, r := range records {
		rh := tlog.RecordHash([]byte(r))
		recordHashes = append(recordHashes, rh.String())
		add, err := tlog.StoredHashesForRecordHash(int64(i), rh, stored)
		if err != nil {
			log.Fatal(err)
		}
		stored = append(stored, add...)
		counts = append(counts, tlog.StoredHashCount(int64(i+1)))
		treeHashes = append(treeHashes, must(tlog.TreeHash(int64(i+1), stored)).String())
	}
	n := int64(len(records))
	var recordProofs, treeProofs []proof
	for t := int64(1); t <= n; t++ {
		for i := int64(0); i < t; i++ {
			p, err := tlog.ProveRecord(t, i, stored)
			if err != nil {
				log.Fatal(err)
			}
			recordProofs = append(recordProofs, proof{t, i, b64(p)})
			q, err := tlog.ProveTree(t, i+1, stored)
			if err != nil {
				log.Fatal(err)
			}
			treeProofs = append(treeProofs, proof{t, i + 1, b64(q)})
		}
	}
	var tiles []tileVector
	for _, t := range tlog.NewTiles(height, 0, n) {
		d, err := tlog.ReadTileData(t, stored)
		if err != nil {
			log.Fatal(err)
		}
		tiles = append(tiles, tileVector{t.Path(), t.H, t.L, t.N, t.W, base64.StdEncoding.EncodeToString(d)})
	}
	type split struct {
		Index int64  `json:"index"`
		Level int    `json:"level"`
		N     int64  `json:"n"`
		Tile  string `json:"tile"`
	}
	var splits []split
	for x := int64(0); x < int64(len(stored)); x++ {
		l, k := tlog.SplitStoredHashIndex(x)
		splits = append(splits, split{x, l, k, tlog.TileForIndex(height, x).Path()})
	}
	out := map[string]any{
		"recordHashes":  recordHashes,
		"treeHashes":    treeHashes,
		"storedCounts":  counts,
		"storedHashes":  b64(stored),
		"recordProofs":  recordProofs,
		"treeProofs":    treeProofs,
		"tiles":         tiles,
		"splits":        splits,
		"signedTreeFmt": string(tlog.FormatTree(tlog.Tree{N: n, Hash: must(tlog.TreeHash(n, stored))})),
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		log.Fatal(err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}

type record struct {
	Path    string `json:"path"`
	Version string `json:"version"`
	Zip     string `json:"zip"`
	Mod     string `json:"mod"`
}

// serve runs x/mod's test checksum database. Records are looked up once at start, in the order
// given, so the log (and so its tree) is fixed by that order.
func serve(skey string) {
	var records []record
	if err := json.NewDecoder(os.Stdin).Decode(&records); err != nil {
		log.Fatal(err)
	}
	byKey := map[string]record{}
	for _, r := range records {
		byKey[r.Path+"@"+r.Version] = r
	}
	gosum := func(path, vers string) ([]byte, error) {
		r, ok := byKey[path+"@"+vers]
		if !ok {
			return nil, os.ErrNotExist // os.IsNotExist does not unwrap: the server answers 404 only for this
		}
		var b strings.Builder
		if r.Zip != "" {
			fmt.Fprintf(&b, "%s %s %s\n", r.Path, r.Version, r.Zip)
		}
		fmt.Fprintf(&b, "%s %s/go.mod %s\n", r.Path, r.Version, r.Mod)
		return []byte(b.String()), nil
	}
	ts := sumdb.NewTestServer(skey, gosum)
	for _, r := range records {
		if _, err := ts.Lookup(context.Background(), module.Version{Path: r.Path, Version: r.Version}); err != nil {
			log.Fatal(err)
		}
	}
	srv := sumdb.NewServer(ts)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(os.Stderr, "%s %s\n", r.Method, r.URL.Path)
		srv.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	os.Stdout.Sync()
	log.Fatal(http.Serve(ln, mux))
}
