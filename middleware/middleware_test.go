package middleware_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/internal/flowtest"
)

// netHTTPStack mounts Auth on a plain http.ServeMux.
var netHTTPStack = flowtest.Stack{
	Name: "net/http",
	Build: func(t *testing.T, a *middleware.Auth, h flowtest.Handlers) http.Handler {
		mux := http.NewServeMux()
		mux.Handle(a.BasePath()+"/", a.Handler())
		mux.Handle(flowtest.PathPrivate, a.Require(h.Private))
		mux.Handle(flowtest.PathOptional, a.Optional(h.Optional))
		mux.Handle(flowtest.PathAdmin, a.RequireScopes("admin")(h.Admin))
		mux.Handle(flowtest.PathUpstream, a.Require(h.Upstream))
		mux.Handle(flowtest.PathAPI, a.RequireAPI(h.API))
		return a.Wrap(mux)
	},
}

func TestFlows(t *testing.T) { flowtest.Run(t, netHTTPStack) }
