package apply

import (
	"errors"
	"fmt"
)

// ErrMassPrune is matched (errors.Is) by the error of PruneAllowed when a prune would
// delete everything, or more than half, of an inventory.
var ErrMassPrune = errors.New("mass prune")

// MassPruneError says how many objects a refused prune would have deleted.
type MassPruneError struct {
	Inventory int
	Stale     int
}

// Error explains the refusal and how to proceed.
func (e *MassPruneError) Error() string {
	return fmt.Sprintf("prune would delete %d of the %d objects in the inventory; "+
		"held back in case the render lost objects by mistake: allow mass prune to proceed", e.Stale, e.Inventory)
}

// Is makes errors.Is(err, ErrMassPrune) true.
func (e *MassPruneError) Is(target error) bool { return target == ErrMassPrune }

// PruneAllowed refuses a prune that would delete every object of the inventory, or more
// than half of it, unless allowMass is set. A render that suddenly yields far fewer
// objects is more often a mistake (a wrong path, a broken overlay) than an intent, so
// the controller holds and says why instead of deleting a running application.
func PruneAllowed(inventorySize, staleCount int, allowMass bool) error {
	if allowMass || staleCount <= 0 {
		return nil
	}
	if staleCount >= inventorySize || 2*staleCount > inventorySize {
		return &MassPruneError{Inventory: inventorySize, Stale: staleCount}
	}
	return nil
}
