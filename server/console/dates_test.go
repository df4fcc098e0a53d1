package console

import (
	"io/fs"
	"regexp"
	"testing"
)

// TestDatesHaveOneFormat: dates are shown by dom.js's formatters only
// (en-GB, "7 Dec 2026") and typed as YYYY-MM-DD text (dom.js's dateInput),
// never by the browser's locale: no toLocale…String, no formatter of a
// module's own, no <input type=date> or datetime-local, which Chromium
// draws in the browser's locale (mm/dd/yyyy in en-US) whatever the page's
// lang. e2e/browser_dates_test.go checks the result in an en-US Chromium.
func TestDatesHaveOneFormat(t *testing.T) {
	locale := regexp.MustCompile(`toLocale(Date|Time)?String|Intl\.DateTimeFormat|type:\s*'(date|datetime-local|month|week|time)'|type="(date|datetime-local)"`)
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "static/js/dom.js" {
			return err
		}
		b, _ := fs.ReadFile(static, p)
		for _, m := range locale.FindAll(b, -1) {
			t.Errorf("%s has %s: show dates with dom.js's when, day or ukDate and take them with dateInput", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	dom, _ := fs.ReadFile(static, "static/js/dom.js")
	for _, m := range regexp.MustCompile(`Intl\.DateTimeFormat\('([^']*)'`).FindAllSubmatch(dom, -1) {
		if string(m[1]) != "en-GB" {
			t.Errorf("dom.js formats dates for %s, not en-GB", m[1])
		}
	}
	if !regexp.MustCompile(`export function dateInput`).Match(dom) {
		t.Error("dom.js has no dateInput")
	}
}
