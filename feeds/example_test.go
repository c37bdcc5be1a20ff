package feeds_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/feeds"
)

// Sync the disposable-domain list and the built-in bad-bot list into a
// store, then again: the list server answers 304 and nothing is written.
func Example() {
	// A stand-in for the published list, with an ETag as GitHub sends one.
	list := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "list.conf", time.Time{}, strings.NewReader("mailinator.com\nguerrillamail.com\n"))
	}))
	defer list.Close()

	ctx := context.Background()
	store := memstore.New() // bunstore.Open(ctx, …) in an application
	fetcher, err := feeds.NewFetcher(http.DefaultClient, feeds.WithTimeout(30*time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	syncer, err := feeds.New(store, fetcher, feeds.WithDomainURLs(list.URL))
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 2 {
		rep, err := syncer.Sync(ctx, feeds.Request{})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("domains: %s, %d added; bad bots: %s, %d added\n",
			rep.Domains.Status, rep.Domains.Added, rep.Bots.Status, rep.Bots.Added)
	}
	// Output:
	// domains: applied, 2 added; bad bots: applied, 21 added
	// domains: unchanged, 0 added; bad bots: unchanged, 0 added
}

// Fetch a URL once, then again with the validators of the first answer.
func ExampleFetcher_Fetch() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"abc"`)
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader("hello\n"))
	}))
	defer srv.Close()

	f, err := feeds.NewFetcher(nil, feeds.WithMaxBytes(1<<20))
	if err != nil {
		fmt.Println(err)
		return
	}
	first, err := f.Fetch(context.Background(), srv.URL, feeds.Validators{})
	if err != nil {
		fmt.Println(err)
		return
	}
	second, err := f.Fetch(context.Background(), srv.URL, first.Validators)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q %s; not modified: %v\n", first.Body, first.Validators.ETag, second.NotModified)
	// Output: "hello\n" "abc"; not modified: true
}
