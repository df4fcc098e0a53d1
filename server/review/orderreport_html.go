package review

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/throughcare/throughcare/syncproto/caseday"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
)

// orderReportPage is the printable HTML document of an order report: one
// self-contained file (its style inline, no script), A4 print layout.
var orderReportPage = template.Must(template.New("order").Funcs(template.FuncMap{
	"date": func(d *v1.Date) string {
		if d == nil {
			return ""
		}
		return fmt.Sprintf("%04d-%02d-%02d", d.GetYear(), d.GetMonth(), d.GetDay())
	},
	"when": func(r interface{ AsTime() time.Time }) string {
		return r.AsTime().In(caseday.Zone).Format("2006-01-02 15:04")
	},
	"field": func(st *v1.RecordState, name string) string {
		v := merge.Field(st, name).GetValue()
		if d := v.GetDateValue(); d != nil {
			return fmt.Sprintf("%04d-%02d-%02d", d.GetYear(), d.GetMonth(), d.GetDay())
		}
		if n := v.GetIntegerValue(); n != 0 {
			return fmt.Sprint(n)
		}
		return v.GetStringValue()
	},
	"human": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"join":  func(s []string) string { return strings.Join(s, ", ") },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Court order review report</title>
<style>
body{font:11pt/1.4 system-ui,sans-serif;margin:2em;color:#000}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}
th,td{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top}
h1{font-size:16pt}h2{font-size:13pt;margin-top:1.5em}
.comment{white-space:pre-wrap;border:1px solid #999;padding:.5em;min-height:3em}
@media print{body{margin:0}@page{size:A4;margin:15mm}h2{break-after:avoid}tr{break-inside:avoid}}
</style></head><body>
<h1>Court order review report</h1>
<table class="order">
<tr><th>Client</th><td>{{.ClientName}}</td></tr>
<tr><th>Order</th><td>{{human (field .Order "kind")}}</td></tr>
<tr><th>Court</th><td>{{field .Order "court"}}</td></tr>
<tr><th>Start</th><td>{{field .Order "start_date"}}</td></tr>
<tr><th>End</th><td>{{field .Order "end_date"}}</td></tr>
<tr><th>Testing</th><td>{{human (field .Order "testing_frequency")}}</td></tr>
<tr><th>Review interval (days)</th><td>{{field .Order "review_interval_days"}}</td></tr>
<tr><th>Responsible officer</th><td>{{field .Order "responsible_officer"}}</td></tr>
<tr><th>Period</th><td>{{date .From}} to {{date .To}}</td></tr>
</table>
<h2>Attendance</h2>
<p>{{.Attendance.Attended}} attended, {{.Attendance.DidNotAttend}} did not attend, {{.Attendance.CancelledByClient}} cancelled by the client,
{{.Attendance.CancelledByService}} cancelled by the service, {{.Attendance.Rescheduled}} rescheduled, {{.Attendance.Booked}} booked.
Attendance rate: {{if .Attendance.RateBase}}{{.Attendance.AttendanceRatePercent}}% of {{.Attendance.RateBase}}{{else}}none to count{{end}}.</p>
<p><small>{{.AttendanceDefinition}}</small></p>
<table class="appointments"><thead><tr><th>When</th><th>Type</th><th>Outcome</th><th>Reason</th></tr></thead><tbody>
{{range .Appointments}}<tr data-id="{{.AppointmentId}}"><td>{{when .StartsAt}}</td><td>{{human .AppointmentType}}{{if .HearingOfOrder}} (this order){{end}}</td><td>{{human .Status}}</td><td>{{human .DnaReason}}</td></tr>
{{else}}<tr><td colspan="4">No appointments in the period.</td></tr>{{end}}</tbody></table>
<h2>Drug tests</h2>
<table class="tests"><thead><tr><th>When</th><th>Result</th><th>Substances</th></tr></thead><tbody>
{{range .DrugTests}}<tr data-id="{{.ContactId}}"><td>{{when .OccurredAt}}</td><td>{{human .TestResult}}</td><td>{{human (join .Substances)}}</td></tr>
{{else}}<tr><td colspan="3">No drug tests in the period.</td></tr>{{end}}</tbody></table>
<h2>Treatment Outcomes Profile: change from start</h2>
{{if .TopChange}}<p>Start TOP {{date .TopStart}}{{if .TopLatest}}; latest {{date .TopLatest}}{{else}}; no later TOP yet{{end}}.</p>
<table class="top"><thead><tr><th>Item</th><th>Start</th><th>Latest</th><th>Change</th></tr></thead><tbody>
{{range .TopChange}}<tr><td>{{human .Item}}</td><td>{{if .StartAnswered}}{{.StartScore}}{{else}}–{{end}}</td><td>{{if .LatestAnswered}}{{.LatestScore}}{{else}}–{{end}}</td><td>{{.Movement}}</td></tr>
{{end}}</tbody></table>{{else}}<p>No start TOP by the end of the period.</p>{{end}}
<h2>Keyworker's comments</h2><div class="comment">{{.KeyworkerComment}}</div>
<h2>Treatment provider's comments</h2><div class="comment">{{.ProviderComment}}</div>
</body></html>
`))

// renderOrderReport renders a report as its printable HTML document.
func renderOrderReport(r *v1.GetOrderReportResponse) (string, error) {
	var b strings.Builder
	if err := orderReportPage.Execute(&b, r); err != nil {
		return "", fmt.Errorf("review: order report page: %w", err)
	}
	return b.String(), nil
}
