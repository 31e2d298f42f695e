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

// Where is a user signed in? The user index lists the keys of a user's
// live sessions, soonest expiry first, for an operator or for a "your
// devices" page (each key can then be loaded, or deleted to sign that
// device out).
func ExampleStore_UserSessionKeys() {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	st := memstore.New(0, memstore.WithClock(func() time.Time { return now }))
	for key, life := range map[string]time.Duration{"laptopsession001": 2 * time.Hour, "phonesession0002": time.Hour, "oldtabsession003": -time.Minute} {
		rec := core.Record{Key: key, Data: []byte(`{"_auth_user_id":"42"}`), Expiry: now.Add(life)}
		if err := st.Save(ctx, rec, core.Create); err != nil && life > 0 {
			log.Fatal(err)
		}
		if err := st.LinkUser(ctx, "42", key, rec.Expiry); err != nil {
			log.Fatal(err)
		}
	}
	keys, err := st.UserSessionKeys(ctx, "42")
	fmt.Println(keys, err)
	// Output:
	// [phonesession0002 laptopsession001] <nil>
}
