package review

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Every section of the statistics renders its fields in its own columns,
// in order: totals, consent exclusions, weekly, attendance, housing,
// employment, quiet, appointments (the definition on the first, the rate
// only with a base), unbooked.
func TestStatisticsRows(t *testing.T) {
	last := timestamppb.New(time.Date(2026, 11, 2, 10, 30, 0, 0, time.UTC))
	st := &v1.GetStatisticsResponse{
		Contacts: 12, Clients: 5, ConsentExcluded: 2,
		Weekly:     []*v1.WeeklyCount{{Week: &v1.Date{Year: 2026, Month: 11, Day: 2}, Category: "housing", Contacts: 3, Clients: 2}},
		Attendance: []*v1.Attendance{{WorkerId: "w1", WorkerName: "Jo", TeamId: "t1", Attended: 4, Missed: 1, Rescheduled: 2}},
		Housing:    []*v1.Movement{{From: "hostel", To: "settled", Clients: 1}},
		Employment: []*v1.Movement{{From: "none", To: "part_time", Clients: 3}},
		Quiet:      []*v1.QuietClient{{ClientId: "c1", ClientName: "Sam", LastContact: last, Days: 30}},
		Appointments: []*v1.AppointmentAttendance{
			{Group: "worker", WorkerId: "w1", WorkerName: "Jo", TeamId: "t1", TeamName: "North", AppointmentType: "keywork",
				Attended: 6, DidNotAttend: 2, CancelledByClient: 1, CancelledByService: 0, Rescheduled: 1, Booked: 3,
				DnaReasons: []*v1.ReasonCount{{Reason: "forgot", Count: 1}, {Count: 1}}, AttendanceRatePercent: 75, RateBase: 8},
			{Group: "team", TeamId: "t2", AppointmentType: "group"},
		},
		AttendanceDefinition: "attended / (attended + dna)",
		Unbooked:             []*v1.QuietClient{{ClientId: "c2", ClientName: "Lee", Days: 9}},
	}
	cells := func(section string, kv ...string) []string {
		r := make([]string, len(StatisticsColumns))
		r[0] = section
		for i := 0; i < len(kv); i += 2 {
			r[slices.Index(StatisticsColumns, kv[i])] = kv[i+1]
		}
		return r
	}
	want := [][]string{
		cells("totals", "contacts", "12", "clients", "5"),
		cells("consent_excluded", "clients", "2"),
		cells("weekly", "week", "2026-11-02", "category", "housing", "contacts", "3", "clients", "2"),
		cells("attendance", "team_id", "t1", "worker_id", "w1", "worker_name", "Jo", "attended", "4", "missed", "1", "rescheduled", "2"),
		cells("housing", "status_from", "hostel", "status_to", "settled", "clients", "1"),
		cells("employment", "status_from", "none", "status_to", "part_time", "clients", "3"),
		cells("quiet", "client_id", "c1", "client_name", "Sam", "last_contact", "2026-11-02T10:30:00Z", "days", "30"),
		cells("appointments", "group", "worker", "team_id", "t1", "team_name", "North", "worker_id", "w1", "worker_name", "Jo",
			"appointment_type", "keywork", "attended", "6", "did_not_attend", "2", "dna_reasons", "forgot=1;none_given=1",
			"cancelled_by_client", "1", "cancelled_by_service", "0", "rescheduled", "1", "booked", "3", "rate_base", "8",
			"attendance_rate_percent", "75", "definition", "attended / (attended + dna)"),
		cells("appointments", "group", "team", "team_id", "t2", "team_name", "", "worker_id", "", "worker_name", "",
			"appointment_type", "group", "attended", "0", "did_not_attend", "0", "dna_reasons", "",
			"cancelled_by_client", "0", "cancelled_by_service", "0", "rescheduled", "0", "booked", "0", "rate_base", "0"),
		cells("unbooked", "client_id", "c2", "client_name", "Lee", "last_contact", "", "days", "9"),
	}
	got := statisticsRows(st)
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d:\n%q", len(got), len(want), got)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("row %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
}
