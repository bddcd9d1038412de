package report

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/shopspring/decimal"
)

// Ensures every top list orders alike: cost descending, then requests descending, then key.
func TestCompareTopOrdersByCostRequestsKey(t *testing.T) {
	row := func(key, cost string, requests int64) Row {
		return Row{Key: key, Totals: Totals{Cost: testkit.Dec(cost), Requests: requests}}
	}
	rows := []Row{row("b", "1", 5), row("a", "1", 5), row("c", "1", 9), row("d", "2.5", 1), row("e", "0", 0)}
	slices.SortFunc(rows, CompareRows)
	var got []string
	for _, r := range rows {
		got = append(got, r.Key)
	}
	if want := []string{"d", "c", "a", "b", "e"}; !slices.Equal(got, want) {
		t.Errorf("rows in order %v, want %v", got, want)
	}
	drivers := []Driver{{Key: "y", Cost: testkit.Dec("1"), Requests: 2}, {Key: "x", Cost: testkit.Dec("1"), Requests: 2}, {Key: "z", Cost: testkit.Dec("1.01"), Requests: 1}}
	slices.SortFunc(drivers, CompareDrivers)
	if drivers[0].Key != "z" || drivers[1].Key != "x" || drivers[2].Key != "y" {
		t.Errorf("drivers in order %v, want z, x, y", drivers)
	}
}

// Ensures TopDrivers is the first n of a full sort, ties included, for every n.
func TestTopDriversIsTheSortedPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var all []Driver
	for i := range 300 {
		all = append(all, Driver{Key: fmt.Sprintf("k%03d", rng.IntN(1000)+i*1000), Cost: decimal.New(int64(rng.IntN(20)), -int32(rng.IntN(3))), Requests: int64(rng.IntN(4))})
	}
	sorted := slices.Clone(all)
	slices.SortFunc(sorted, CompareDrivers)
	for _, n := range []int{0, 1, 5, 17, 299, 300, 400} {
		got := TopDrivers(func(yield func(*Driver) bool) {
			for i := range all {
				if !yield(&all[i]) {
					return
				}
			}
		}, n)
		if want := sorted[:min(n, len(sorted))]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("TopDrivers(%d) = %v, want %v", n, got, want)
		}
	}
}
