package main

import (
	"os"

	"github.com/cloakroom/cloakroom/core/filestore"
)

func openFile(f *storeFlags) (*opened, error) {
	dir := f.dir
	if dir == "" {
		dir = os.TempDir()
	}
	var opts []filestore.Option
	if f.prefix != "" {
		opts = append(opts, filestore.WithPrefix(f.prefix))
	}
	st, err := filestore.New(dir, opts...)
	if err != nil {
		return nil, err
	}
	return &opened{name: "file store " + st.Dir(), store: st, close: func() error { return nil }}, nil
}
