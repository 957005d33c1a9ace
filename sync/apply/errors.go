package apply

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// ErrOwnedByOther is returned (wrapped) when Apply meets a live object whose owner
// annotation names another owner: two Applications must not fight over one object.
var ErrOwnedByOther = errors.New("owned by another owner")

// objectError names the object an error is about, with a message safe to show.
type objectError struct {
	ref ObjectRef
	msg string
	err error
}

func (e *objectError) Error() string { return e.ref.String() + ": " + e.msg }
func (e *objectError) Unwrap() error { return e.err }

// objectErr wraps err with the object's name. For Secrets the apiserver's message is
// replaced by the reason and the field paths of its causes: a validation message can
// quote the value it refused, and Secret values must never reach logs, Events or status.
func objectErr(ref ObjectRef, err error) *objectError {
	return &objectError{ref: ref, msg: safeMessage(ref, err), err: err}
}

func safeMessage(ref ObjectRef, err error) string {
	if ref.Group != "" || ref.Kind != "Secret" {
		return err.Error()
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return err.Error()
	}
	st := status.Status()
	msg := fmt.Sprintf("%s (%d)", st.Reason, st.Code)
	if st.Details == nil {
		return msg
	}
	var causes []string
	for _, c := range st.Details.Causes {
		causes = append(causes, fmt.Sprintf("%s: %s", c.Field, c.Type))
	}
	if len(causes) > 0 {
		msg += ": " + strings.Join(causes, "; ")
	}
	return msg
}
