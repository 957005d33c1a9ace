package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/operate"
)

// actionVerb is the verb each action is authorised for: every action is a merge patch
// of the Application (an annotation, or spec.suspend), as `landfall` writes it.
const actionVerb = "patch"

// errRefused is an action the Application's state refuses (a revision not in its
// history, nothing waiting for approval): the user's mistake, told in the page.
type errRefused struct{ error }

// action runs one of sync, rollback, resume, approve, suspend for the signed-in user.
// A browser's request must carry its session's CSRF token and come from this origin;
// a request with a bearer token in its header cannot be forged by another site and
// needs neither. The user's right to patch the Application is checked before anything
// is written, and the write is made by the dashboard's client.
func (s *Server) action(w http.ResponseWriter, r *request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if r.session != nil && (!sameOrigin(r.Request) || !validCSRF(r.session, r.PostFormValue("csrf"))) {
		s.refuse(w, r, http.StatusForbidden, "Refused", "The request does not come from this dashboard's pages (CSRF check).")
		return
	}
	ns, name, act := r.PathValue("namespace"), r.PathValue("name"), r.PathValue("action")
	do, known := actions[act]
	if !known {
		http.Error(w, "no action "+act, http.StatusNotFound)
		return
	}
	app, ok := s.visibleApplication(w, r)
	if !ok {
		return
	}
	may, err := s.auth.may(r.Context(), r.user, Access{Verb: actionVerb, Resource: "applications", Namespace: ns, Name: name})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !may {
		s.refuse(w, r, http.StatusForbidden, "Forbidden", fmt.Sprintf("%s may not %s Application %s/%s.", r.user.Name, actionVerb, ns, name))
		return
	}
	done, err := do(r.Context(), s.opts.Writer, app, r.PostFormValue("env"), r.PostFormValue("revision"), r.user.Name)
	var refused errRefused
	switch {
	case errors.As(err, &refused):
		s.answer(w, r, http.StatusBadRequest, refused.Error(), false)
	case err != nil:
		s.opts.Log.Error(err, "Dashboard action failed", "action", act, "application", ns+"/"+name, "user", r.user.Name)
		s.answer(w, r, http.StatusInternalServerError, act+" failed: "+err.Error(), false)
	default:
		s.opts.Log.Info("Dashboard action", "action", act, "application", ns+"/"+name, "user", r.user.Name, "done", done)
		s.answer(w, r, http.StatusOK, done, true)
	}
}

// answer tells a browser on its next page (the Application's), anyone else in the body.
func (s *Server) answer(w http.ResponseWriter, r *request, status int, msg string, ok bool) {
	if r.session == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintln(w, msg)
		return
	}
	s.sessions.flash(r.sessionID, msg, ok)
	http.Redirect(w, r.Request, "/applications/"+url.PathEscape(r.PathValue("namespace"))+"/"+url.PathEscape(r.PathValue("name")), http.StatusSeeOther)
}

type actionFunc func(ctx context.Context, c client.Client, app *landfallv1.Application, env, revision, user string) (string, error)

var actions = map[string]actionFunc{
	"sync": func(ctx context.Context, c client.Client, app *landfallv1.Application, _, _, _ string) (string, error) {
		if _, err := operate.RequestNow(ctx, c, app, landfallv1.AnnotationSyncRequestedAt); err != nil {
			return "", err
		}
		return "sync of " + app.Name + " requested", nil
	},
	"rollback": func(ctx context.Context, c client.Client, app *landfallv1.Application, env, revision, _ string) (string, error) {
		target, err := operate.RollbackTarget(app, env, revision)
		if err != nil {
			return "", errRefused{err}
		}
		if err := operate.Pin(ctx, c, app, env, target); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s pinned to %s; resume lifts the pin", env, target), nil
	},
	"approve": func(ctx context.Context, c client.Client, app *landfallv1.Application, env, _, user string) (string, error) {
		revision, step, err := operate.AwaitingApproval(app, env)
		if err != nil {
			return "", errRefused{err}
		}
		what, err := operate.Approve(ctx, c, app, env, revision, step, user)
		if err != nil {
			return "", err
		}
		return env + ": " + what + " approved", nil
	},
	"suspend": func(ctx context.Context, c client.Client, app *landfallv1.Application, _, _, _ string) (string, error) {
		return app.Name + " suspended", operate.Suspend(ctx, c, app, true)
	},
	"resume": func(ctx context.Context, c client.Client, app *landfallv1.Application, _, _, _ string) (string, error) {
		return app.Name + " resumed", operate.Suspend(ctx, c, app, false)
	},
}
