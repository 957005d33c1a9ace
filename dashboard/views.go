package dashboard

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/duration"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

var pageNames = []string{"login", "applications", "application", "diff", "repositories", "previews", "message"}

var funcs = template.FuncMap{
	"short": shortCommit,
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return duration.HumanDuration(time.Since(t)) + " ago"
	},
	"lower": strings.ToLower,
	"inc":   func(i int) int { return i + 1 },
	"deref": func(p *int32) int { return int(*p) },
}

func parsePages() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// page is what every page's layout needs besides its own data.
type page struct {
	Title   string
	Nav     string
	User    string
	CSRF    string
	Flash   string
	FlashOK bool
	Data    any
}

// render writes a page; with the header X-Fragment: main only its main part, which the
// page's script swaps in on a live update.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	s.renderPage(w, r, status, name, page{Title: name, Data: data})
}

func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	tmpl := "layout"
	if r.Header.Get("X-Fragment") == "main" {
		tmpl = "main"
	}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, tmpl, p); err != nil {
		s.opts.Log.Error(err, "Rendering a dashboard page", "page", name)
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) pageFor(r *request, title, nav string, data any) page {
	p := page{Title: title, Nav: nav, User: r.user.Name, Data: data}
	if r.session != nil {
		p.CSRF = r.session.csrf
		// Only a whole page takes the action's result: a live update's fetch, which may
		// race the redirect after an action, would take it and show it nowhere.
		if r.Header.Get("X-Fragment") != "main" {
			p.Flash, p.FlashOK = r.session.takeFlash()
		}
	}
	return p
}

// appRow is one line of the Applications list.
type appRow struct {
	Namespace, Name string
	Ready           string
	ReadyKind       string
	Message         string
	Stages          []stage
}

type applicationsView struct {
	Rows       []appRow
	Query      string
	Page, Last int
	Total      int
	Prev, Next string
}

// applicationsPage lists the Applications the user may get, sorted by namespace and
// name, one page at a time, filtered by a substring of namespace/name.
func (s *Server) applicationsPage(w http.ResponseWriter, r *request) {
	list := &landfallv1.ApplicationList{}
	if err := s.opts.Cache.List(r.Context(), list); err != nil {
		s.fail(w, r, err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	visible := make([]*landfallv1.Application, 0, len(list.Items))
	for i := range list.Items {
		a := &list.Items[i]
		if q != "" && !strings.Contains(a.Namespace+"/"+a.Name, q) {
			continue
		}
		ok, err := s.auth.may(r.Context(), r.user, Access{Verb: "get", Resource: "applications", Namespace: a.Namespace, Name: a.Name})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if ok {
			visible = append(visible, a)
		}
	}
	sort.Slice(visible, func(i, j int) bool {
		if visible[i].Namespace != visible[j].Namespace {
			return visible[i].Namespace < visible[j].Namespace
		}
		return visible[i].Name < visible[j].Name
	})
	v := applicationsView{Query: q, Total: len(visible)}
	v.Page, v.Last = pageOf(r.URL.Query().Get("page"), len(visible), s.opts.PageSize)
	from := (v.Page - 1) * s.opts.PageSize
	now := time.Now()
	for _, a := range visible[from:min(from+s.opts.PageSize, len(visible))] {
		v.Rows = append(v.Rows, newAppRow(a, now))
	}
	if v.Page > 1 {
		v.Prev = pageLink(q, v.Page-1)
	}
	if v.Page < v.Last {
		v.Next = pageLink(q, v.Page+1)
	}
	s.renderPage(w, r.Request, http.StatusOK, "applications", s.pageFor(r, "Applications", "applications", v))
}

func pageOf(param string, total, size int) (int, int) {
	last := max(1, (total+size-1)/size)
	p, err := strconv.Atoi(param)
	if err != nil || p < 1 {
		p = 1
	}
	return min(p, last), last
}

func pageLink(q string, p int) string {
	v := url.Values{"page": {strconv.Itoa(p)}}
	if q != "" {
		v.Set("q", q)
	}
	return "/?" + v.Encode()
}

func newAppRow(a *landfallv1.Application, now time.Time) appRow {
	row := appRow{Namespace: a.Namespace, Name: a.Name, Ready: "Unknown", ReadyKind: "wait", Stages: stages(a, now)}
	if c := apimeta.FindStatusCondition(a.Status.Conditions, landfallv1.ConditionReady); c != nil {
		row.Message = c.Message
		switch c.Status {
		case "True":
			row.Ready, row.ReadyKind = "Ready", "ok"
		case "False":
			row.Ready, row.ReadyKind = c.Reason, "bad"
			if apimeta.IsStatusConditionTrue(a.Status.Conditions, landfallv1.ConditionReconciling) {
				row.ReadyKind = "progress"
			}
		}
	}
	return row
}

type messageView struct{ Title, Text string }

// refuse answers a request with status and a message: a page for a browser, text for
// anyone else.
func (s *Server) refuse(w http.ResponseWriter, r *request, status int, title, text string) {
	if !wantsHTML(r.Request) {
		http.Error(w, text, status)
		return
	}
	s.renderPage(w, r.Request, status, "message", s.pageFor(r, title, "", messageView{Title: title, Text: text}))
}

// fail shows an error that is not the user's: logged at error level, a plain 500.
func (s *Server) fail(w http.ResponseWriter, r *request, err error) {
	s.opts.Log.Error(err, "Serving a dashboard page", "path", r.URL.Path, "user", r.user.Name)
	http.Error(w, "the dashboard could not read the cluster; see the controller's log", http.StatusInternalServerError)
}

// Repositories.

type repoRow struct {
	Namespace, Name, URL, Ref, Revision, Ready, ReadyKind, Message string
	Subject, Author                                                string
	Fetched                                                        time.Time
}

func (s *Server) repositoriesPage(w http.ResponseWriter, r *request) {
	list := &landfallv1.RepositoryList{}
	if err := s.opts.Cache.List(r.Context(), list); err != nil {
		s.fail(w, r, err)
		return
	}
	var rows []repoRow
	for i := range list.Items {
		repo := &list.Items[i]
		if ok, err := s.auth.may(r.Context(), r.user, Access{Verb: "get", Resource: "repositories", Namespace: repo.Namespace, Name: repo.Name}); err != nil || !ok {
			continue
		}
		row := repoRow{Namespace: repo.Namespace, Name: repo.Name, URL: repo.Spec.URL, Ref: refOf(repo.Spec.Ref),
			Revision: repo.Status.Revision, Ready: "Unknown", ReadyKind: "wait"}
		if repo.Status.Commit != nil {
			row.Subject, row.Author = repo.Status.Commit.Subject, repo.Status.Commit.Author
		}
		if repo.Status.LastFetchedAt != nil {
			row.Fetched = repo.Status.LastFetchedAt.Time
		}
		if c := apimeta.FindStatusCondition(repo.Status.Conditions, landfallv1.ConditionReady); c != nil {
			row.Ready, row.Message, row.ReadyKind = c.Reason, c.Message, map[bool]string{true: "ok", false: "bad"}[c.Status == "True"]
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Namespace+"/"+rows[i].Name < rows[j].Namespace+"/"+rows[j].Name })
	s.renderPage(w, r.Request, http.StatusOK, "repositories", s.pageFor(r, "Repositories", "repositories", rows))
}

func refOf(ref landfallv1.GitRef) string {
	for _, kv := range [][2]string{{"branch", ref.Branch}, {"tag", ref.Tag}, {"semver", ref.SemVer}, {"commit", ref.Commit}, {"ref", ref.Name}} {
		if kv[1] != "" {
			return kv[0] + " " + kv[1]
		}
	}
	return ""
}

// Previews.

type previewCard struct {
	ID, Preview, Namespace, URL, Revision, Health, State, Message, TTL string
	Number                                                             int64
	Updated                                                            time.Time
}

func (s *Server) previewsPage(w http.ResponseWriter, r *request) {
	list := &landfallv1.PreviewList{}
	if err := s.opts.Cache.List(r.Context(), list); err != nil {
		s.fail(w, r, err)
		return
	}
	var cards []previewCard
	for i := range list.Items {
		p := &list.Items[i]
		if ok, err := s.auth.may(r.Context(), r.user, Access{Verb: "get", Resource: "previews", Namespace: p.Namespace, Name: p.Name}); err != nil || !ok {
			continue
		}
		ttl := "none"
		if p.Spec.TTL != nil {
			ttl = p.Spec.TTL.Duration.String()
		}
		for _, e := range p.Status.Previews {
			if e.State == landfallv1.PreviewClosed || e.State == landfallv1.PreviewExpired {
				continue // its namespace is gone: a card for an open pull request only
			}
			c := previewCard{ID: "preview-" + p.Namespace + "-" + p.Name + "-" + strconv.FormatInt(e.Number, 10),
				Preview: p.Namespace + "/" + p.Name, Namespace: e.Namespace, URL: e.URL, Revision: e.Revision,
				Health: orUnknown(string(e.Health)), State: string(e.State), Message: e.Message, TTL: ttl, Number: e.Number}
			if e.UpdatedAt != nil {
				c.Updated = e.UpdatedAt.Time
			}
			cards = append(cards, c)
		}
	}
	sort.Slice(cards, func(i, j int) bool {
		if cards[i].Preview != cards[j].Preview {
			return cards[i].Preview < cards[j].Preview
		}
		return cards[i].Number < cards[j].Number
	})
	s.renderPage(w, r.Request, http.StatusOK, "previews", s.pageFor(r, "Previews", "previews", cards))
}

// Signing in.

type loginView struct{ Message string }

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if key := r.URL.Query().Get("key"); key != "" && s.opts.LoginKey != "" {
		s.signIn(w, r, key)
		return
	}
	s.render(w, r, http.StatusOK, "login", loginView{})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !sameOrigin(r) {
		http.Error(w, "refused: the request does not come from this dashboard's pages", http.StatusForbidden)
		return
	}
	s.signIn(w, r, strings.TrimSpace(r.PostFormValue("token")))
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request, token string) {
	if token == "" {
		s.unauthorized(w, r, "A token is required.")
		return
	}
	if _, err := s.auth.Authenticate(r.Context(), token); err != nil {
		s.unauthorized(w, r, "The cluster does not accept this token (forged, expired or revoked).")
		return
	}
	id, _ := s.sessions.create(token)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(sessionTTL.Seconds())})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && sameOrigin(r) {
		s.sessions.drop(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
