package firewall

import (
	"errors"
	"fmt"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// ErrNoTable: table inet tprouter is not there (before the first Apply).
var ErrNoTable = errors.New("no table inet " + Table + ": the firewall is not applied yet")

// QUICBlocked returns how many packets the QUIC rule has rejected since
// the last Apply (which recreates the counter at 0), from the named
// counter QUICCounter. Without the table the error is ErrNoTable.
func QUICBlocked() (uint64, error) {
	conn, err := nftables.New()
	if err != nil {
		return 0, fmt.Errorf("nftables.New: %w", err)
	}
	// google/nftables flattens the kernel's ENOENT into text, so the
	// table is looked for first.
	tables, err := conn.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return 0, fmt.Errorf("listing the inet tables: %w", err)
	}
	if !slices.ContainsFunc(tables, func(t *nftables.Table) bool { return t.Name == Table }) {
		return 0, ErrNoTable
	}
	t := &nftables.Table{Family: nftables.TableFamilyINet, Name: Table}
	o, err := conn.GetObject(&nftables.NamedObj{Table: t, Name: QUICCounter, Type: nftables.ObjTypeCounter})
	if err != nil {
		return 0, fmt.Errorf("reading counter %s of table inet %s: %w", QUICCounter, Table, err)
	}
	if n, ok := o.(*nftables.NamedObj); ok {
		if c, ok := n.Obj.(*expr.Counter); ok {
			return c.Packets, nil
		}
	}
	return 0, fmt.Errorf("counter %s of table inet %s: unexpected object %T", QUICCounter, Table, o)
}
