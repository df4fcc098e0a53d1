package review

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
)

func TestAttendanceRate(t *testing.T) {
	for _, tc := range []struct{ attended, dna, percent, base uint32 }{
		{0, 0, 0, 0},
		{1, 0, 100, 1},
		{1, 1, 50, 2},
		{2, 1, 67, 3}, // 66.67 rounds up
		{1, 2, 33, 3},
		{1, 7, 13, 8}, // 12.5 rounds half up
		{0, 4, 0, 4},
	} {
		p, b := AttendanceRate(tc.attended, tc.dna)
		if p != tc.percent || b != tc.base {
			t.Errorf("AttendanceRate(%d, %d) = %d%%, %d; want %d%%, %d", tc.attended, tc.dna, p, b, tc.percent, tc.base)
		}
	}
}

// The attendance rate counts attended and did-not-attend only; cancellations,
// reschedules and appointments still booked are shown beside it. This is the
// "100% kept beside 50% kept" case: one attended, one rescheduled, one
// cancelled is 100% (1 of 1), not 33%.
func TestAppointmentStatistics(t *testing.T) {
	w := newWorld(t)
	// c1 (A1, w1): keywork attended, keywork DNA (forgot), court rescheduled.
	w.appointment(w.dev1, w.c1, at(3, 10), "keywork", "attended", "")
	w.appointment(w.dev1, w.c1, at(10, 10), "keywork", "did_not_attend", "forgot")
	w.appointment(w.dev1, w.c1, at(11, 10), "court", "rescheduled", "")
	// c2 (A1, w1): a deleted DNA (not counted), a booked one after the period.
	gone := w.appointment(w.dev1, w.c2, at(4, 10), "keywork", "did_not_attend", "unwell")
	w.edit(w.dev1, "appointment", w.c2, gone, "deleted", sample.Tombstone("entered_in_error"), nil)
	w.appointment(w.dev1, w.c2, at(20, 10), "keywork", "booked", "")
	// c3 (A2, w2): probation attended, cancelled by client and by service,
	// one still booked in the period (no outcome yet), one before the period.
	w.appointment(w.dev2, w.c3, at(5, 10), "probation", "attended", "")
	w.appointment(w.dev2, w.c3, at(6, 10), "probation", "cancelled_by_client", "")
	w.appointment(w.dev2, w.c3, at(7, 10), "probation", "cancelled_by_service", "")
	w.appointment(w.dev2, w.c3, at(12, 10), "probation", "booked", "")
	w.appointment(w.dev2, w.c3, at(1, 10).AddDate(0, -1, 0), "probation", "did_not_attend", "in_hospital")

	got, err := w.svc.GetStatistics(w.ctx, w.adminA, &v1.GetStatisticsRequest{From: timestamppb.New(at(2, 0)), To: timestamppb.New(at(16, 0))})
	if err != nil {
		t.Fatal(err)
	}
	forgot := []*v1.ReasonCount{{Reason: "forgot", Count: 1}}
	want := []*v1.AppointmentAttendance{
		{Group: "all", Attended: 2, DidNotAttend: 1, DnaReasons: forgot, CancelledByClient: 1, CancelledByService: 1, Rescheduled: 1, Booked: 1,
			AttendanceRatePercent: 67, RateBase: 3},
		{Group: "worker", WorkerId: w.w2.UserID, WorkerName: "Ali Worker", Attended: 1, CancelledByClient: 1, CancelledByService: 1, Booked: 1,
			AttendanceRatePercent: 100, RateBase: 1},
		{Group: "worker", WorkerId: w.w1.UserID, WorkerName: "Sam Worker", Attended: 1, DidNotAttend: 1, DnaReasons: forgot, Rescheduled: 1,
			AttendanceRatePercent: 50, RateBase: 2},
		{Group: "team", TeamId: w.teamA2, TeamName: "East", Attended: 1, CancelledByClient: 1, CancelledByService: 1, Booked: 1,
			AttendanceRatePercent: 100, RateBase: 1},
		{Group: "team", TeamId: w.teamA1, TeamName: "North", Attended: 1, DidNotAttend: 1, DnaReasons: forgot, Rescheduled: 1,
			AttendanceRatePercent: 50, RateBase: 2},
		{Group: "appointment_type", AppointmentType: "court", Rescheduled: 1},
		{Group: "appointment_type", AppointmentType: "keywork", Attended: 1, DidNotAttend: 1, DnaReasons: forgot, AttendanceRatePercent: 50, RateBase: 2},
		{Group: "appointment_type", AppointmentType: "probation", Attended: 1, CancelledByClient: 1, CancelledByService: 1, Booked: 1,
			AttendanceRatePercent: 100, RateBase: 1},
	}
	if len(got.GetAppointments()) != len(want) {
		t.Fatalf("appointments:\n%s", prototext.Format(got))
	}
	for i := range want {
		if !proto.Equal(got.GetAppointments()[i], want[i]) {
			t.Errorf("row %d:\n got %s\nwant %s", i, prototext.Format(got.GetAppointments()[i]), prototext.Format(want[i]))
		}
	}
	if got.GetAttendanceDefinition() != AttendanceDefinition {
		t.Errorf("definition %q", got.GetAttendanceDefinition())
	}
	// Only c2 has one booked at or after the period's end.
	var unbooked []string
	for _, q := range got.GetUnbooked() {
		unbooked = append(unbooked, q.GetClientName())
	}
	if wantU := []string{"Alex Smith", "Kelly Evans", "Lee Brown", "Paul Walker"}; !slices.Equal(unbooked, wantU) {
		t.Errorf("unbooked = %v, want %v", unbooked, wantU)
	}

	// The CSV carries the same rate and the definition.
	var rows [][]string
	if _, err := w.svc.ExportStatistics(w.ctx, w.adminA, ExportQuery{From: at(2, 0), To: at(16, 0)}, RowFunc(func(r []string) error {
		rows = append(rows, r)
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	col := func(r []string, name string) string { return r[slices.Index(StatisticsColumns, name)] }
	var appts [][]string
	for _, r := range rows {
		if r[0] == "appointments" {
			appts = append(appts, r)
		}
	}
	if len(appts) != len(want) {
		t.Fatalf("%d appointments rows, want %d", len(appts), len(want))
	}
	for i, r := range [][5]string{
		{"all", "67", "3", "forgot=1", AttendanceDefinition},
		{"worker", "100", "1", "", ""},
		{"worker", "50", "2", "forgot=1", ""},
		{"team", "100", "1", "", ""},
		{"team", "50", "2", "forgot=1", ""},
		{"appointment_type", "", "0", "", ""}, // court: nothing to rate
	} {
		gotR := [5]string{col(appts[i], "group"), col(appts[i], "attendance_rate_percent"), col(appts[i], "rate_base"),
			col(appts[i], "dna_reasons"), col(appts[i], "definition")}
		if gotR != r {
			t.Errorf("CSV appointments row %d = %q, want %q", i, gotR, r)
		}
	}
}
