package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
)

// A bounded store: at most two sessions; expired ones go first, then the
// ones closest to expiry.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	st := memstore.New(2, memstore.WithClock(func() time.Time { return now }))

	for i, key := range []string{"firstsession0001", "secondsession002", "thirdsession0003"} {
		rec := core.Record{Key: key, Data: []byte(`{"n":1}`), Expiry: now.Add(time.Duration(i+1) * time.Hour)}
		if err := st.Save(ctx, rec, core.Create); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("sessions held:", st.Len())

	_, err := st.Load(ctx, "firstsession0001")
	fmt.Println("first evicted:", errors.Is(err, core.ErrNotFound))

	now = now.Add(150 * time.Minute) // the second session has expired
	_, err = st.Load(ctx, "secondsession002")
	fmt.Println("second expired:", errors.Is(err, core.ErrNotFound))
	// Output:
	// sessions held: 2
	// first evicted: true
	// second expired: true
}
