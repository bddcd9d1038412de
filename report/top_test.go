package report

import (
	"slices"
	"testing"

	"github.com/aispend/aispend/collect/testkit"
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
