package main

import (
	"fmt"

	"github.com/cloakroom/cloakroom/core/filestore"
)

func openFile(f *storeFlags) (*opened, error) {
	if f.dir == "" {
		return nil, fmt.Errorf("%w: -dir is required for -store file", errUsage)
	}
	opts := []filestore.Option{filestore.WithMaxFileBytes(f.maxFileBytes), filestore.WithFanOut(f.fanOut)}
	if f.prefix != "" {
		opts = append(opts, filestore.WithPrefix(f.prefix))
	}
	st, err := filestore.New(f.dir, opts...)
	if err != nil {
		return nil, err
	}
	return &opened{name: "file store " + st.Dir(), store: st, close: func() error { return nil }}, nil
}
