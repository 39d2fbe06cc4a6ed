package settingsui

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/hubsync/hubsync"
)

// contentSecurityPolicy is sent with the default layout: only this package's own script and style.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"

var funcs = template.FuncMap{
	"rowID":    rowID,
	"dirLabel": func(d hubsync.Direction) string { return directionLabels[d] },
	"lower":    strings.ToLower,
	"blankRow": func() rowView { return rowView{} },
	"row": func(p *page, r rowView) rowData {
		return rowData{Page: p, Row: r}
	},
}

// rowData is what the "row" template is executed with.
type rowData struct {
	Page *page
	Row  rowView
}

func (h *Handler) renderPage(w http.ResponseWriter, status int, p *page) {
	h.render(w, status, "HubSpot settings", "page", p)
}

// render executes the content template name with data inside the layout.
func (h *Handler) render(w http.ResponseWriter, status int, title, name string, data any) {
	var body bytes.Buffer
	if err := h.tmpl.ExecuteTemplate(&body, name, data); err != nil {
		h.log.Error("settingsui: rendering failed", "template", name, "err", err)
		http.Error(w, "settingsui: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	ld := LayoutData{
		Title: title,
		Head: template.HTML(fmt.Sprintf(`<link rel="stylesheet" href="%s/static/settings.css"><script src="%s/static/settings.js" defer></script>`,
			template.HTMLEscapeString(h.base), template.HTMLEscapeString(h.base))),
		Content: template.HTML(body.String()), // rendered by html/template above
	}
	var out bytes.Buffer
	var err error
	if h.layout != nil {
		err = h.layout.Execute(&out, ld)
	} else {
		w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
		err = h.tmpl.ExecuteTemplate(&out, "layout", ld)
	}
	if err != nil {
		h.log.Error("settingsui: rendering the layout failed", "err", err)
		http.Error(w, "settingsui: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(out.Bytes())
}
