package middleware

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// Pages themes, translates or replaces the built-in HTML pages: the
// provider chooser ("chooser"), the password form ("password"), the error
// page ("error"), the sign-out confirmation ("logout"), the implicit-grant
// page ("implicit") and the sessions page ("sessions"). Every field is
// optional; the zero value gives the built-in English pages.
//
// Overriding templates keep Gatehouse's security headers: every page is
// served with a Content-Security-Policy that allows no script and no style
// except those carrying the page's nonce ([PageData].Nonce), images from
// the app's own origin, data: URLs and the https origins of provider icons
// only, and forms posting to the app's origin only. Put the nonce on every
// <style>, <link rel="stylesheet"> and <script> element:
//
//	<link rel="stylesheet" nonce="{{.Nonce}}" href="/static/login.css">
type Pages struct {
	// Display gives providers, by provider name, the name and icon users
	// see on the chooser, the password form and the error pages. Default:
	// the provider's Name(), no icon. New fails for a name that is not
	// one of Config.Providers and for an icon it cannot serve under the
	// pages' Content-Security-Policy.
	Display map[string]ProviderDisplay

	// Templates are the app's templates (html/template syntax). Every
	// *.html file at the root of Templates is parsed after the built-in
	// templates, so a {{define "name"}}…{{end}} in it replaces the
	// built-in template of that name: a whole page ("chooser",
	// "password", "error", "logout", "implicit", "sessions") or one of the
	// parts the built-in pages share ("head": everything up to the
	// page's <h1>, "style": the built-in CSS, "notice", "provider": one
	// chooser entry, "passwordform", "foot"). Each page gets the data type
	// documented with its name: [ChooserPage], [PasswordPage],
	// [ErrorPage], [LogoutPage], [ImplicitPage], [SessionsPage]. With
	// //go:embed pages/*.html, pass fs.Sub(files, "pages"): the files must
	// be at the root. New parses the templates
	// and renders every page once with sample data: a template that does
	// not parse or does not run makes New fail. Default: none (the
	// built-in pages).
	Templates fs.FS

	// Texts are every user-facing string of the built-in pages, for
	// translation or rewording. Nil means [DefaultTexts]; in a non-nil
	// Texts, an empty field (and an Errors entry that is missing or has
	// empty fields) takes the default.
	Texts *Texts
}

// ProviderDisplay is how users see one provider on the built-in pages.
type ProviderDisplay struct {
	// Name is the provider's name for people, e.g. "GitHub". Default: the
	// provider's Name().
	Name string
	// Icon is an optional small image shown next to Name: a path on the
	// app's own origin ("/static/github.svg"), an https URL (its origin is
	// added to the pages' img-src), or a data:image/ URL (png, gif, jpeg,
	// webp or svg+xml). Anything else makes New fail.
	Icon string
}

// Texts holds every user-facing string of the built-in pages (see
// [Pages]). Some strings take values: "{app}" is Config.AppName, "{provider}"
// the provider's display name ([ProviderDisplay]), "{n}" a number. Start
// from [DefaultTexts] to translate:
//
//	t := middleware.DefaultTexts()
//	t.Lang = "fr"
//	t.SignIn, t.ContinueWith = "Connexion", "Continuer avec {provider}"
//
// The JSON error bodies of API clients are not translated: their "error"
// is a stable machine code, their "error_description" English text for
// developers.
type Texts struct {
	// Lang is the pages' language, the <html lang> attribute. Default "en".
	Lang string

	// SignIn is the chooser's title without Config.AppName: "Sign in".
	SignIn string
	// SignInTo is the chooser's title with Config.AppName: "Sign in to {app}".
	SignInTo string
	// SignInWith is the password form's title and button: "Sign in with {provider}".
	SignInWith string
	// ContinueWith is a redirect provider's button: "Continue with {provider}".
	ContinueWith string
	// OtherWays links from the password form and from error pages to the
	// chooser with every provider: "Choose another way to sign in".
	OtherWays string
	// Username and Password label the password form's fields.
	Username, Password string
	// EnterCredentials is shown when the form was sent without a username
	// or password: "Enter your username and password."
	EnterCredentials string
	// InvalidCredentials is shown for wrong credentials: "Invalid username
	// or password."
	InvalidCredentials string
	// FormRefreshed is shown on a password form sent with an out-of-date
	// security token from this site (a sign-in or sign-out in another tab,
	// an expired session): the form is shown again, ready to send.
	FormRefreshed string

	// SignOut is the sign-out page's title and button: "Sign out".
	SignOut string
	// SignOutQuestion asks for confirmation: "Do you want to sign out?"
	SignOutQuestion string

	// SigningIn is the implicit-grant page's title: "Signing in".
	SigningIn string
	// CompletingSignIn is its status line: "Completing sign-in…".
	CompletingSignIn string
	// JavaScriptNeeded is shown when scripts are off on that page.
	JavaScriptNeeded string

	// NoticeSignedOut is shown once on the next sign-in page after a
	// sign-out: "You have signed out."
	NoticeSignedOut string
	// NoticeSessionExpired is shown when a browser whose session expired
	// is sent to sign in: "Your session has expired. Please sign in again."
	NoticeSessionExpired string
	// NoticeReauthRequired is shown when the sign-in service ended the
	// sign-in (its refresh was refused): "Your sign-in has ended. Please
	// sign in again."
	NoticeReauthRequired string

	// SessionsTitle is the sessions page's title: "Your sessions".
	SessionsTitle string
	// SessionsIntro explains the sessions page.
	SessionsIntro string
	// UnknownDevice names a session whose device is not known.
	UnknownDevice string
	// ThisDevice marks the session of the browser looking: "this device".
	ThisDevice string
	// SessionLine describes a session: "Signed in {login} with
	// {provider}, last active {seen}" ({login} and {seen} are times).
	SessionLine string
	// EndSession and EndOtherSessions are the sessions page's buttons.
	EndSession, EndOtherSessions string

	// TryAgain is the error page's main button: "Try again".
	TryAgain string
	// LikelyReasons introduces an error's reasons: "This can happen when:".
	LikelyReasons string
	// RetryInSeconds and RetryInMinutes follow a message when the answer
	// names a wait: "Please try again in {n} seconds." ("{n} minutes" from
	// two minutes on).
	RetryInSeconds, RetryInMinutes string
	// TheProvider stands for {provider} when the provider is not known:
	// "the sign-in service".
	TheProvider string
	// ErrorTitle and ErrorMessage are used for a failure without an Errors
	// entry: "Something went wrong", "Something went wrong. Please try
	// again."
	ErrorTitle, ErrorMessage string

	// Errors are the error pages' texts by error code: the "error" of the
	// JSON answer (for example "rate_limited", "state_not_found",
	// "provider_unavailable"), or a more specific key of the same failure:
	// "access_denied" (the user cancelled at the provider, code
	// "provider_error") and "logout_csrf" (code "csrf" at sign-out).
	// [DefaultTexts] has an entry for every one of them.
	Errors map[string]ErrorText
}

// ErrorText is the text of one kind of error page.
type ErrorText struct {
	// Title is the page's title; default Texts.ErrorTitle.
	Title string
	// Message says what happened and what to do, in words for the person
	// at the browser (no protocol terms); "{provider}" is replaced.
	Message string
	// Reasons, when set, are listed as the likely causes.
	Reasons []string
}

// DefaultTexts returns a new copy of the built-in English texts.
func DefaultTexts() *Texts {
	t := defaultTexts
	t.Errors = make(map[string]ErrorText, len(defaultTexts.Errors))
	for k, v := range defaultTexts.Errors {
		v.Reasons = append([]string(nil), v.Reasons...)
		t.Errors[k] = v
	}
	return &t
}

var (
	signInFailed = "Sign-in could not be completed"
	startAgain   = " Please start again."
)

var defaultTexts = Texts{
	Lang:                 "en",
	SignIn:               "Sign in",
	SignInTo:             "Sign in to {app}",
	SignInWith:           "Sign in with {provider}",
	ContinueWith:         "Continue with {provider}",
	OtherWays:            "Choose another way to sign in",
	Username:             "Username",
	Password:             "Password",
	EnterCredentials:     "Enter your username and password.",
	InvalidCredentials:   "Invalid username or password.",
	FormRefreshed:        "This form was out of date, for example because you signed in or out in another tab. Please enter your password again.",
	SignOut:              "Sign out",
	SignOutQuestion:      "Do you want to sign out?",
	SigningIn:            "Signing in",
	CompletingSignIn:     "Completing sign-in…",
	JavaScriptNeeded:     "JavaScript is needed to finish this sign-in.",
	NoticeSignedOut:      "You have signed out.",
	NoticeSessionExpired: "Your session has expired. Please sign in again.",
	NoticeReauthRequired: "Your sign-in has ended. Please sign in again.",
	SessionsTitle:        "Your sessions",
	SessionsIntro:        "These are the places where you are signed in. End any you do not recognise.",
	UnknownDevice:        "Unknown device",
	ThisDevice:           "this device",
	SessionLine:          "Signed in {login} with {provider}, last active {seen}",
	EndSession:           "End this session",
	EndOtherSessions:     "Sign out everywhere else",
	TryAgain:             "Try again",
	LikelyReasons:        "This can happen when:",
	RetryInSeconds:       "Please try again in {n} seconds.",
	RetryInMinutes:       "Please try again in {n} minutes.",
	TheProvider:          "the sign-in service",
	ErrorTitle:           "Something went wrong",
	ErrorMessage:         "Something went wrong. Please try again.",
	Errors: map[string]ErrorText{
		"not_found":          {Title: "Page not found", Message: "There is no such page."},
		"method_not_allowed": {Title: "Page not available", Message: "This page cannot be opened this way."},
		"invalid_request":    {Title: "Request not understood", Message: "Your browser sent something we could not understand. Please go back and try again."},
		"request_too_large":  {Title: "Request too large", Message: "What your browser sent is too large. Please go back and try again."},
		"rate_limited":       {Title: "Too many attempts", Message: "There have been too many sign-in attempts."},
		"csrf":               {Title: "Page expired", Message: "This page has expired or was not sent from this site. Please go back, reload the page and try again."},
		"logout_csrf":        {Title: "Sign-out not confirmed", Message: "The sign-out was not confirmed from this site. Use the sign-out button to try again."},
		"missing_state":      {Title: signInFailed, Message: "The answer from {provider} is incomplete." + startAgain},
		"state_not_found": {Title: signInFailed, Message: "We could not match this answer from {provider} to a sign-in started in this browser." + startAgain,
			Reasons: []string{
				"the sign-in took too long,",
				"this page was already used, for example after going back or reloading it,",
				"your browser did not keep this site's cookie during the sign-in (cookies blocked, or the sign-in was started at another address of this site).",
			}},
		"login_expired":           {Title: signInFailed, Message: "The sign-in took too long and has expired." + startAgain},
		"provider_mismatch":       {Title: signInFailed, Message: "This answer belongs to a sign-in with another service." + startAgain},
		"issuer_mismatch":         {Title: signInFailed, Message: "This answer came from an unexpected sign-in service." + startAgain},
		"wrong_response_type":     {Title: signInFailed, Message: "The answer from {provider} does not fit this sign-in." + startAgain},
		"missing_code":            {Title: signInFailed, Message: "The answer from {provider} is incomplete." + startAgain},
		"provider_error":          {Title: "Sign-in was not completed", Message: "{provider} did not complete the sign-in." + startAgain},
		"access_denied":           {Title: "Sign-in cancelled", Message: "The sign-in at {provider} was cancelled or not allowed. You can try again, or choose another way to sign in."},
		"login_failed":            {Title: signInFailed, Message: "The sign-in with {provider} did not work." + startAgain},
		"provider_bad_response":   {Title: signInFailed, Message: "{provider} sent an answer we could not use." + startAgain},
		"provider_unavailable":    {Title: "Sign-in service unavailable", Message: "We cannot reach {provider} right now."},
		"session_unavailable":     {Title: "Temporarily unavailable", Message: "Signing in is not possible right now. Please try again in a moment."},
		"login_request_too_large": {Title: "Something went wrong", Message: "Signing in is not possible right now because of a problem on our side."},
		"server_error":            {Title: "Something went wrong", Message: "Something went wrong on our side. Please try again."},
		"invalid_credentials":     {Title: signInFailed, Message: "Invalid username or password."},
		"unauthorized":            {Title: "Please sign in", Message: "Please sign in to continue."},
		"invalid_token":           {Title: "Please sign in", Message: "Your access has expired. Please sign in again."},
		"insufficient_scope":      {Title: "More permissions needed", Message: "This page needs permissions you have not granted yet. Sign in again to grant them."},
		"logout_state_mismatch":   {Title: "Sign-out could not be confirmed", Message: "You are signed out of this site, but we could not confirm the sign-out at {provider}."},
		"unsupported_token_type":  {Title: "Request not understood", Message: "Your browser sent something we could not understand."},
		"session_not_found":       {Title: "Session not found", Message: "That session has already ended."},
	},
}

// PageData is what every page's data starts with (each page type embeds
// it), so shared templates such as "head" work on every page.
type PageData struct {
	// AppName is Config.AppName ("" when unset).
	AppName string
	// Title is the page's title, already translated.
	Title string
	// DocumentTitle is the <title>: Title, followed by " · AppName" when
	// AppName is set and Title does not already name it.
	DocumentTitle string
	// Lang is Texts.Lang.
	Lang string
	// Nonce is this response's Content-Security-Policy nonce: put it on
	// every <style>, <link rel="stylesheet"> and <script> element
	// (nonce="{{.Nonce}}"); elements without it are blocked.
	Nonce string
	// BasePath is Config.BasePath, e.g. "/auth".
	BasePath string
	// Notice is a short one-time message for the sign-in pages: after a
	// sign-out, an expired session, or a sign-in the provider ended
	// ("" when there is none).
	Notice string
	// Texts are the (translated) texts, for strings a template shows by
	// itself (labels such as {{.Texts.Username}}).
	Texts *Texts
}

func (d *PageData) pageData() *PageData { return d }

// pager is a page's data: a pointer to a struct embedding PageData.
type pager interface{ pageData() *PageData }

// ChooserPage is the data of the "chooser" page ({BasePath}/login): every
// provider, in Config.Providers order.
type ChooserPage struct {
	PageData
	// Providers are the choices.
	Providers []ProviderChoice
	// ReturnTo is the validated return path the choices carry.
	ReturnTo string
	// Error is a message to show above the choices ("" when none).
	Error string
}

// ProviderChoice is one provider on the chooser or the password form.
type ProviderChoice struct {
	// Name is the provider's route name (Provider.Name()).
	Name string
	// DisplayName is its name for people ([ProviderDisplay]).
	DisplayName string
	// Icon is its validated icon URL, or "".
	Icon template.URL
	// Label is the button text: "Continue with {provider}" for redirect
	// providers, "Sign in with {provider}" for password providers.
	Label string
	// LoginURL starts a redirect provider's login (with return_to); for a
	// password provider it is the form's own page.
	LoginURL string
	// Form is a password provider's form; nil for redirect providers.
	Form *PasswordForm
}

// PasswordForm is a password provider's sign-in form: a POST of
// "username", "password", "csrf_token" and "return_to" to Action.
type PasswordForm struct {
	// Action is the form's action, {BasePath}/{provider}/login.
	Action string
	// CSRF is the session's token for the "csrf_token" field.
	CSRF string
	// ReturnTo is the validated return path for the "return_to" field.
	ReturnTo string
	// Username is the username sent last, to fill the field again ("" at
	// first).
	Username string
	// UsernameLabel and PasswordLabel are Texts.Username and
	// Texts.Password.
	UsernameLabel, PasswordLabel string
}

// PasswordPage is the data of the "password" page (GET
// {BasePath}/{provider}/login of a password provider, and the answer to a
// failed POST).
type PasswordPage struct {
	PageData
	// Provider is the provider, with its Form.
	Provider ProviderChoice
	// Error says why the last attempt failed ("" at first).
	Error string
	// ChooserURL links to the chooser with the same return path when
	// there are other providers ("" otherwise).
	ChooserURL string
}

// ErrorPage is the data of the "error" page, shown to browsers for every
// failure (API clients get JSON).
type ErrorPage struct {
	PageData
	// Status is the HTTP status of the answer.
	Status int
	// Code is the stable error code, the "error" of the JSON answer. It is
	// for templates that branch on the kind of failure; the built-in
	// page does not show it.
	Code string
	// Message says what happened and what to do (translated; wait
	// included when RetryAfter is set).
	Message string
	// Reasons are likely causes (translated), or nil.
	Reasons []string
	// RetryURL starts over (the same provider's login with the original
	// return path, the page itself, …), or "".
	RetryURL string
	// ChooserURL is the chooser with the original return path, when there
	// is more than one provider and the failure was a sign-in's; else "".
	ChooserURL string
	// RetryAfter is the wait in seconds the answer's Retry-After names
	// (429, 503), or 0.
	RetryAfter int
}

// LogoutPage is the data of the "logout" page (GET {BasePath}/logout): a
// form that POSTs "csrf_token" and "return_to" to Action.
type LogoutPage struct {
	PageData
	// Action is {BasePath}/logout.
	Action string
	// CSRF is the session's token for the "csrf_token" field.
	CSRF string
	// ReturnTo is the validated return path for the "return_to" field.
	ReturnTo string
}

// ImplicitPage is the data of the "implicit" page, served at an implicit
// provider's callback: its script posts the URL fragment to Action. An
// override must keep that script (with nonce="{{.Nonce}}").
type ImplicitPage struct {
	PageData
	// Action is {BasePath}/{provider}/implicit.
	Action string
}

// SessionsPage is the data of the "sessions" page (GET
// {BasePath}/sessions): the signed-in user's sessions, each with a form
// that POSTs "csrf_token" and "id" to Action+"/end", and one that POSTs
// "csrf_token" to Action+"/end-others".
type SessionsPage struct {
	PageData
	// Sessions are the user's sessions, this browser's included.
	Sessions []SessionRow
	// Others is true when there is a session besides this browser's.
	Others bool
	// Action is {BasePath}/sessions.
	Action string
	// CSRF is the session's token for the "csrf_token" fields.
	CSRF string
}

// SessionRow is one session on the sessions page.
type SessionRow struct {
	// ID is the session's handle for the "id" field (not the session
	// token).
	ID string
	// Device is a short description of the browser, or "".
	Device string
	// Provider is the provider's display name.
	Provider string
	// LoginAt and LastSeen are formatted times (RFC 1123, UTC).
	LoginAt, LastSeen string
	// Line is Texts.SessionLine filled in.
	Line string
	// Current marks this browser's session.
	Current bool
}

//go:embed templates/*.html
var builtinFS embed.FS

// builtinPages is parsed once; each Auth executes its own clone (a
// template set cannot be cloned after it has run).
var builtinPages = template.Must(template.New("gatehouse").ParseFS(builtinFS, "templates/*.html"))

// pageSet is an Auth's page configuration, ready to render.
type pageSet struct {
	tmpl    *template.Template
	texts   *Texts
	display map[string]ProviderDisplay
	icons   map[string]template.URL
	imgSrc  string // extra img-src sources (icon origins), with a leading space
}

// initPages checks cfg.Pages and builds the page set.
func (a *Auth) initPages(cfg Config) error {
	ps := &pageSet{texts: mergeTexts(cfg.Pages.Texts), display: map[string]ProviderDisplay{}, icons: map[string]template.URL{}}
	origins := map[string]bool{}
	for name, d := range cfg.Pages.Display {
		if _, ok := a.providers[name]; !ok {
			return fmt.Errorf("%w: Pages.Display names unknown provider %q", ErrConfig, name)
		}
		ps.display[name] = d
		if d.Icon == "" {
			continue
		}
		icon, origin, err := checkIcon(d.Icon)
		if err != nil {
			return fmt.Errorf("%w: Pages.Display[%q].Icon: %v", ErrConfig, name, err)
		}
		ps.icons[name] = icon
		if origin != "" && !origins[origin] {
			origins[origin] = true
			ps.imgSrc += " " + origin
		}
	}
	t, err := builtinPages.Clone()
	if err != nil {
		return fmt.Errorf("%w: pages: %v", ErrConfig, err)
	}
	if cfg.Pages.Templates != nil {
		if m, err := fs.Glob(cfg.Pages.Templates, "*.html"); err == nil && len(m) == 0 {
			return fmt.Errorf("%w: Pages.Templates has no *.html file at its root (a directory that does not exist, or an embed.FS whose files sit in a subdirectory: pass fs.Sub(files, \"pages\"))", ErrConfig)
		}
		if t, err = t.ParseFS(cfg.Pages.Templates, "*.html"); err != nil {
			return fmt.Errorf("%w: Pages.Templates: %v", ErrConfig, err)
		}
	}
	ps.tmpl = t
	a.pages = ps
	// Run every page once so a template that cannot run fails here, not
	// in front of a user.
	for name, data := range a.samplePages() {
		if ps.tmpl.Lookup(name) == nil {
			return fmt.Errorf("%w: Pages.Templates: page %q is not defined", ErrConfig, name)
		}
		if err := ps.tmpl.ExecuteTemplate(io.Discard, name, data); err != nil {
			return fmt.Errorf("%w: Pages.Templates: page %q: %v", ErrConfig, name, err)
		}
	}
	return nil
}

// samplePages is data for every page, as New renders them once.
func (a *Auth) samplePages() map[string]pager {
	var choices []ProviderChoice
	for _, name := range a.order {
		choices = append(choices, a.choice(name, "/", "sample-csrf-token", "", a.isPassword(name)))
	}
	first := a.choice(a.order[0], "/", "sample-csrf-token", "ada", true)
	out := map[string]pager{
		"chooser":  &ChooserPage{Providers: choices, ReturnTo: "/", Error: "sample"},
		"password": &PasswordPage{Provider: first, Error: "sample", ChooserURL: a.LoginURL("", "/")},
		"error":    &ErrorPage{Status: 400, Code: "state_not_found", Message: "sample", Reasons: []string{"sample"}, RetryURL: "/", ChooserURL: "/", RetryAfter: 5},
		"logout":   &LogoutPage{Action: a.base + "/logout", CSRF: "sample-csrf-token", ReturnTo: "/"},
		"implicit": &ImplicitPage{Action: a.base + "/" + a.order[0] + "/implicit"},
		"sessions": &SessionsPage{Sessions: []SessionRow{{ID: "a", Device: "sample", Provider: "sample", LoginAt: "sample", LastSeen: "sample", Line: "sample", Current: true},
			{ID: "b", Line: "sample"}}, Others: true, Action: a.base + "/sessions", CSRF: "sample-csrf-token"},
	}
	for _, p := range out {
		d := p.pageData()
		d.AppName, d.Title, d.DocumentTitle, d.Lang, d.Nonce, d.BasePath, d.Notice, d.Texts = a.cfg.AppName, "sample", "sample", a.pages.texts.Lang, "sample-nonce", a.base, "sample", a.pages.texts
	}
	return out
}

// checkIcon validates an icon URL and returns it as a template.URL, with
// the origin to add to img-src ("" for same-origin paths and data: URLs).
func checkIcon(s string) (template.URL, string, error) {
	if len(s) > 64<<10 {
		return "", "", fmt.Errorf("longer than 64 KiB")
	}
	if strings.ContainsAny(s, "\"'<>\\ \t\r\n") {
		return "", "", fmt.Errorf("%.80q is not a URL (quotes, angle brackets, backslashes and spaces must be percent-encoded)", s)
	}
	switch {
	case strings.HasPrefix(s, "data:"):
		mt, _, ok := strings.Cut(strings.TrimPrefix(s, "data:"), ",")
		mt, _, _ = strings.Cut(mt, ";")
		switch mt {
		case "image/png", "image/gif", "image/jpeg", "image/webp", "image/svg+xml":
		default:
			return "", "", fmt.Errorf("a data: icon must be image/png, gif, jpeg, webp or svg+xml")
		}
		if !ok {
			return "", "", fmt.Errorf("a data: icon needs its data after a comma")
		}
		return template.URL(s), "", nil
	case strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//"):
		if _, err := url.Parse(s); err != nil {
			return "", "", err
		}
		return template.URL(s), "", nil
	case strings.HasPrefix(s, "https://"):
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.User != nil {
			return "", "", fmt.Errorf("%q is not an https URL", s)
		}
		return template.URL(s), "https://" + u.Host, nil
	}
	return "", "", fmt.Errorf("%q must be a path on this site, an https URL or a data:image/ URL", s)
}

// mergeTexts fills the empty fields of t from the defaults.
func mergeTexts(t *Texts) *Texts {
	out := DefaultTexts()
	if t == nil {
		return out
	}
	src, dst := reflect.ValueOf(t).Elem(), reflect.ValueOf(out).Elem()
	for i := range src.NumField() {
		if f := src.Field(i); f.Kind() == reflect.String && f.String() != "" {
			dst.Field(i).SetString(f.String())
		}
	}
	for k, v := range t.Errors {
		d := out.Errors[k]
		if v.Title != "" {
			d.Title = v.Title
		}
		if v.Message != "" {
			d.Message = v.Message
		}
		if v.Reasons != nil {
			d.Reasons = append([]string(nil), v.Reasons...)
		}
		out.Errors[k] = d
	}
	return out
}

// fill replaces the {app}, {provider} and {n} placeholders of s.
func fill(s string, kv ...string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	return strings.NewReplacer(kv...).Replace(s)
}

// displayName is the provider's name for people.
func (a *Auth) displayName(name string) string {
	if name == "" {
		return a.pages.texts.TheProvider
	}
	if d, ok := a.pages.display[name]; ok && d.Name != "" {
		return d.Name
	}
	if dn, ok := a.providers[name].(DisplayNamer); ok {
		if n := dn.DisplayName(); n != "" {
			return n
		}
	}
	return name
}

// DisplayNamer is an optional interface of a provider that knows its name
// for people ("GitHub", "Okta"): the built-in pages show it when
// Pages.Display does not name the provider. The presets and the Whisk,
// start.gg and Wazo adapters implement it.
type DisplayNamer interface {
	DisplayName() string
}

func (a *Auth) isPassword(name string) bool {
	_, redirect := a.providers[name].(provider.RedirectProvider)
	return !redirect
}

// choice builds the chooser entry of provider name.
func (a *Auth) choice(name, returnTo, csrf, username string, form bool) ProviderChoice {
	t := a.pages.texts
	dn := a.displayName(name)
	c := ProviderChoice{Name: name, DisplayName: dn, Icon: a.pages.icons[name], LoginURL: a.LoginURL(name, returnTo)}
	if form {
		c.Label = fill(t.SignInWith, "{provider}", dn)
		c.Form = &PasswordForm{Action: a.base + "/" + name + "/login", CSRF: csrf, ReturnTo: returnTo, Username: username,
			UsernameLabel: t.Username, PasswordLabel: t.Password}
	} else {
		c.Label = fill(t.ContinueWith, "{provider}", dn)
	}
	return c
}

// chooserTitle is the chooser's title, with the app's name when set.
func (a *Auth) chooserTitle() string {
	if a.cfg.AppName != "" {
		return fill(a.pages.texts.SignInTo, "{app}", a.cfg.AppName)
	}
	return a.pages.texts.SignIn
}

// retryIn is the sentence naming the wait.
func (t *Texts) retryIn(secs int) string {
	if secs >= 120 {
		return fill(t.RetryInMinutes, "{n}", strconv.Itoa((secs+59)/60))
	}
	return fill(t.RetryInSeconds, "{n}", strconv.Itoa(max(secs, 1)))
}

// errorText is the page text of a failure: its specific key, else its
// code, else the generic text.
func (t *Texts) errorText(key, code string) (ErrorText, bool) {
	if key != "" {
		if e, ok := t.Errors[key]; ok {
			return e, true
		}
	}
	e, ok := t.Errors[code]
	return e, ok
}
