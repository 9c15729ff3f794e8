// tlogcheck follows a fivesafes ledger published as C2SP tlog-tiles using only Go's own
// transparency-log code (golang.org/x/mod/sumdb/note and sumdb/tlog, as Debian packages it),
// the way a client pinned to the log's published key would:
//
//  1. open the handover checkpoint with the pinned (old) key alone: it must verify, because the
//     ledger co-signs with the retiring key during a handover;
//  2. check that the latest checkpoint, signed after the handover by the new key only, is
//     rejected by the old key alone;
//  3. authenticate every tile it needs against the handover checkpoint's root (TileHashReader),
//     read every entry bundle, and check each entry hashes to its leaf in the level-0 tile;
//  4. find the key_rotation entry, open its statement with the old key, and learn the new key;
//  5. open the latest checkpoint with the new key, authenticate its tiles, re-read the bundles,
//     and prove it consistent with the handover checkpoint and every entry included in it.
//
// It prints a JSON summary that the Python test checks. Usage:
//
//	tlogcheck DIR PINNED_VKEY HANDOVER_CHECKPOINT_FILE
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

// tiles reads C2SP tiles from a directory: tile/<L>/<N>[.p/<W>] for hashes.
type tiles struct {
	dir   string
	reads int
}

func (t *tiles) Height() int { return height }

// c2spPath turns Go's sumdb tile path (tile/8/L/N[.p/W], tile/8/data/N) into C2SP's
// (tile/L/N[.p/W], tile/entries/N): the same N encoding, without the height.
func c2spPath(tile tlog.Tile) string {
	p := tile.Path()
	p = strings.Replace(p, "tile/8/data/", "tile/entries/", 1)
	return strings.Replace(p, "tile/8/", "tile/", 1)
}

func (t *tiles) ReadTiles(want []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(want))
	for i, tile := range want {
		data, err := os.ReadFile(filepath.Join(t.dir, c2spPath(tile)))
		if errors.Is(err, os.ErrNotExist) && tile.W < 1<<height {
			// tlog-tiles: a partial tile may be gone once its full tile exists.
			full := tile
			full.W = 1 << height
			data, err = os.ReadFile(filepath.Join(t.dir, c2spPath(full)))
			if err == nil {
				data = data[:tile.W*tlog.HashSize]
			}
		}
		if err != nil {
			return nil, err
		}
		if len(data) != tile.W*tlog.HashSize {
			return nil, fmt.Errorf("%s: %d bytes, want %d", c2spPath(tile), len(data), tile.W*tlog.HashSize)
		}
		out[i] = data
		t.reads++
	}
	return out, nil
}

func (t *tiles) SaveTiles([]tlog.Tile, [][]byte) {}

type checkpoint struct {
	origin string
	tree   tlog.Tree
}

func openCheckpoint(data []byte, known note.Verifiers) (checkpoint, error) {
	n, err := note.Open(data, known)
	if err != nil {
		return checkpoint{}, err
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		return checkpoint{}, fmt.Errorf("short checkpoint")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return checkpoint{}, err
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return checkpoint{}, fmt.Errorf("bad root hash %q", lines[2])
	}
	var h tlog.Hash
	copy(h[:], root)
	return checkpoint{origin: lines[0], tree: tlog.Tree{N: size, Hash: h}}, nil
}

// readEntries reads every entry bundle of a tree and checks each entry against its
// authenticated leaf hash.
func readEntries(dir string, tree tlog.Tree, hashes tlog.HashReader) ([][]byte, error) {
	var entries [][]byte
	for n := int64(0); n*256 < tree.N; n++ {
		width := tree.N - n*256
		if width > 256 {
			width = 256
		}
		bundle := tlog.Tile{H: height, L: -1, N: n, W: int(width)}
		data, err := os.ReadFile(filepath.Join(dir, c2spPath(bundle)))
		if errors.Is(err, os.ErrNotExist) && width < 256 {
			bundle.W = 256
			data, err = os.ReadFile(filepath.Join(dir, c2spPath(bundle)))
		}
		if err != nil {
			return nil, err
		}
		indexes := make([]int64, width)
		for i := range indexes {
			indexes[i] = tlog.StoredHashIndex(0, n*256+int64(i))
		}
		leaves, err := hashes.ReadHashes(indexes)
		if err != nil {
			return nil, err
		}
		for i := int64(0); i < width; i++ {
			if len(data) < 2 {
				return nil, fmt.Errorf("bundle %d ends early", n)
			}
			size := int(binary.BigEndian.Uint16(data))
			entry := data[2 : 2+size]
			data = data[2+size:]
			if tlog.RecordHash(entry) != leaves[i] {
				return nil, fmt.Errorf("entry %d does not hash to its leaf", n*256+i)
			}
			entries = append(entries, entry)
		}
	}
	return entries, nil
}

type entry struct {
	Index   int64  `json:"index"`
	Kind    string `json:"kind"`
	Subject struct {
		OldKey    string `json:"old_key"`
		NewKey    string `json:"new_key"`
		Statement string `json:"statement"`
	} `json:"subject"`
}

func run(dir, pinned, handoverFile string) (map[string]any, error) {
	old, err := note.NewVerifier(pinned)
	if err != nil {
		return nil, err
	}
	result := map[string]any{}
	handoverNote, err := os.ReadFile(handoverFile)
	if err != nil {
		return nil, err
	}
	handover, err := openCheckpoint(handoverNote, note.VerifierList(old))
	if err != nil {
		return nil, fmt.Errorf("handover checkpoint with the pinned key: %w", err)
	}
	result["origin"] = handover.origin
	result["handover_size"] = handover.tree.N

	latestNote, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		return nil, err
	}
	_, err = openCheckpoint(latestNote, note.VerifierList(old))
	var unverified *note.UnverifiedNoteError
	result["latest_with_pinned_key_only"] = fmt.Sprint(err)
	result["latest_unverified_by_pinned_key"] = errors.As(err, &unverified)

	reader := &tiles{dir: dir}
	handoverHashes := tlog.TileHashReader(handover.tree, reader)
	entries, err := readEntries(dir, handover.tree, handoverHashes)
	if err != nil {
		return nil, fmt.Errorf("entries of the handover tree: %w", err)
	}
	var rotation *entry
	for _, data := range entries {
		var e entry
		if err := json.Unmarshal(data, &e); err != nil {
			return nil, err
		}
		if e.Kind == "key_rotation" && e.Subject.OldKey == pinned {
			rotation = &e
		}
	}
	if rotation == nil {
		return nil, fmt.Errorf("no key rotation from the pinned key")
	}
	statement, err := note.Open([]byte(rotation.Subject.Statement), note.VerifierList(old))
	if err != nil {
		return nil, fmt.Errorf("rotation statement: %w", err)
	}
	want := handover.origin + "\nkey rotation\n" + pinned + "\n" + rotation.Subject.NewKey + "\n"
	if statement.Text != want {
		return nil, fmt.Errorf("rotation statement says %q", statement.Text)
	}
	newKey, err := note.NewVerifier(rotation.Subject.NewKey)
	if err != nil {
		return nil, err
	}
	result["rotation_index"] = rotation.Index
	result["new_key"] = rotation.Subject.NewKey

	latest, err := openCheckpoint(latestNote, note.VerifierList(newKey))
	if err != nil {
		return nil, fmt.Errorf("latest checkpoint with the new key: %w", err)
	}
	result["latest_size"] = latest.tree.N
	hashes := tlog.TileHashReader(latest.tree, reader)
	all, err := readEntries(dir, latest.tree, hashes)
	if err != nil {
		return nil, fmt.Errorf("entries of the latest tree: %w", err)
	}
	for i, data := range entries {
		if !bytes.Equal(data, all[i]) {
			return nil, fmt.Errorf("entry %d changed between the two trees", i)
		}
	}
	root, err := tlog.TreeHash(latest.tree.N, hashes)
	if err != nil || root != latest.tree.Hash {
		return nil, fmt.Errorf("tree hash from tiles: %v", err)
	}
	proof, err := tlog.ProveTree(latest.tree.N, handover.tree.N, hashes)
	if err != nil {
		return nil, err
	}
	if err := tlog.CheckTree(proof, latest.tree.N, latest.tree.Hash, handover.tree.N, handover.tree.Hash); err != nil {
		return nil, fmt.Errorf("consistency: %w", err)
	}
	result["consistent"] = true
	included := 0
	for i, data := range all {
		if i%97 != 0 && int64(i) != rotation.Index && i != len(all)-1 {
			continue
		}
		p, err := tlog.ProveRecord(latest.tree.N, int64(i), hashes)
		if err != nil {
			return nil, err
		}
		if err := tlog.CheckRecord(p, latest.tree.N, latest.tree.Hash, int64(i), tlog.RecordHash(data)); err != nil {
			return nil, fmt.Errorf("inclusion of %d: %w", i, err)
		}
		included++
	}
	result["entries"] = len(all)
	result["inclusion_proofs_checked"] = included
	result["tiles_read"] = reader.reads
	return result, nil
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: tlogcheck DIR PINNED_VKEY HANDOVER_CHECKPOINT_FILE")
		os.Exit(2)
	}
	result, err := run(os.Args[1], os.Args[2], os.Args[3])
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlogcheck:", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(result)
	fmt.Println(string(out))
}
