package filestore_test

import (
	"fmt"
	"os"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/filestore"
)

// Sessions in files of a private directory.
func Example() {
	dir, _ := os.MkdirTemp("", "sessions")
	defer os.RemoveAll(dir)
	st, err := filestore.New(dir)
	if err != nil {
		panic(err)
	}
	_, err = core.New(st, core.DefaultConfig())
	fmt.Println(err)
	// Output: <nil>
}
