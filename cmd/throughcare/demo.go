package main

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// cmdDemo fills an area with a demonstration team (run as an admin): a
// supervisor invite for the web console, workers enrolled on simulated
// tablets (the Go SDK with software passkeys), clients assigned to them, and
// several days of contacts logged offline and synced on reconnect, with one
// conflicting edit for the supervisor to settle, and appointments (last
// week's kept or missed with a coded reason, next week's booked). Everything
// is made up.
func cmdDemo(ctx context.Context, c *cli, args []string) error {
	if err := c.signedIn(); err != nil {
		return err
	}
	size, err := parseDemoSize(c, args)
	if err != nil {
		return err
	}
	adm := c.adminClient()
	team, err := adm.CreateTeam(ctx, &v1.CreateTeamRequest{Name: "Demo outreach " + time.Now().Format("2 Jan 15:04:05")})
	if err != nil {
		return err
	}
	teamID := team.GetTeam().GetTeamId()
	sup, err := adm.CreateInvite(ctx, &v1.CreateInviteRequest{Role: v1.Role_ROLE_SUPERVISOR, TeamId: teamID, DisplayName: "Demo Supervisor"})
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "throughcare-demo-")
	if err != nil {
		return err
	}
	// The simulated tablets are thrown away; their work is on the server.
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintf(c.out, "could not remove the demo tablets' stores in %s: %v\n", dir, err)
		}
	}()
	d := &demoRun{c: c, teamID: teamID, dir: dir, size: size,
		rng: mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7))}
	defer d.close()
	for w := range size.workers {
		if err := d.worker(ctx, w); err != nil {
			return err
		}
	}
	if err := d.conflict(ctx); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "team %s: %d workers, %d clients, %d contacts over %d days, 1 conflict\n", teamID, size.workers, size.workers*size.perWorker, d.logged, size.days)
	fmt.Fprintf(c.out, "appointments: %d attended, %d missed (did not attend), %d upcoming; a contact logged with each outcome\n", d.appts.attended, d.appts.missed, d.appts.upcoming)
	fmt.Fprintf(c.out, "supervisor invite for the web console: %s/?invite=%s\n", c.origin, sup.GetInviteCode())
	return nil
}

// demoSize is how much the demo makes.
type demoSize struct{ workers, perWorker, days int }

func parseDemoSize(c *cli, args []string) (demoSize, error) {
	workersS, clientsS, daysS := "3", "4", "5"
	if err := flags("demo", args, c.out, nil, map[string]*string{"workers": &workersS, "clients": &clientsS, "days": &daysS}); err != nil {
		return demoSize{}, err
	}
	workers, err1 := strconv.Atoi(workersS)
	perWorker, err2 := strconv.Atoi(clientsS)
	days, err3 := strconv.Atoi(daysS)
	if err1 != nil || err2 != nil || err3 != nil || workers < 1 || workers > 8 || perWorker < 1 || perWorker > 20 || days < 1 || days > 60 {
		return demoSize{}, fmt.Errorf("demo: --workers must be 1 to 8 (sign-ins are rate-limited), --clients 1 to 20, --days 1 to 60")
	}
	return demoSize{workers, perWorker, days}, nil
}

// demoRun is one demo's state: the team, the simulated tablets and what
// they have logged.
type demoRun struct {
	c       *cli
	teamID  string
	dir     string
	size    demoSize
	rng     *mrand.Rand
	tablets []*caseload.Device
	keys    []*software.Key
	logged  int
	appts   demoAppointments
}

// close closes the throwaway tablets (see dir): closing them loses nothing.
func (d *demoRun) close() {
	for _, dev := range d.tablets {
		_ = dev.Close()
	}
}

// worker enrols worker w on a tablet, gives them clients, and logs days in
// the field without signal, then one sync back at the office.
func (d *demoRun) worker(ctx context.Context, w int) error {
	adm := d.c.adminClient()
	name := demoGiven[w%len(demoGiven)] + " " + demoFamily[(w+3)%len(demoFamily)]
	inv, err := adm.CreateInvite(ctx, &v1.CreateInviteRequest{Role: v1.Role_ROLE_WORKER, TeamId: d.teamID, DisplayName: name})
	if err != nil {
		return err
	}
	dev, key, err := d.c.demoTablet(filepath.Join(d.dir, fmt.Sprint(w)))
	if err != nil {
		return err
	}
	d.tablets, d.keys = append(d.tablets, dev), append(d.keys, key)
	if err := dev.Enrol(ctx, key, inv.GetInviteCode(), "Demo tablet "+fmt.Sprint(w+1)); err != nil {
		return err
	}
	for k := range d.size.perWorker {
		given, family := demoGiven[d.rng.IntN(len(demoGiven))], demoFamily[d.rng.IntN(len(demoFamily))]
		cl, err := adm.CreateClient(ctx, &v1.CreateClientRequest{TeamId: d.teamID, GivenName: given, FamilyName: family,
			Pathway: demoPathways[(w+k)%len(demoPathways)]})
		if err != nil {
			return err
		}
		if _, err := adm.AssignClient(ctx, &v1.AssignClientRequest{ClientId: cl.GetClientId(), WorkerId: dev.UserID()}); err != nil {
			return err
		}
	}
	if _, err := dev.Sync(ctx); err != nil {
		return err
	}
	clients, err := dev.Clients(ctx)
	if err != nil {
		return err
	}
	for day := d.size.days; day >= 1; day-- {
		at := time.Now().AddDate(0, 0, -day).Truncate(24 * time.Hour).Add(9 * time.Hour)
		for _, cl := range clients {
			if d.rng.IntN(3) == 0 {
				continue // not seen today
			}
			if _, err := dev.LogContact(ctx, cl.ID, demoContact(d.rng, at.Add(time.Duration(d.rng.IntN(8*60))*time.Minute))); err != nil {
				return err
			}
			d.logged++
		}
	}
	if err := d.appts.book(ctx, dev, d.rng, clients); err != nil {
		return err
	}
	if _, err := dev.AddGoal(ctx, clients[0].ID, caseload.Goal{Domain: "housing", Description: "Move from hostel into a supported tenancy"}); err != nil {
		return err
	}
	if _, err := dev.MakeReferral(ctx, clients[0].ID, caseload.Referral{ServiceType: "debt_advice", Organisation: "Citizens Advice", ReferredOn: caseload.DateOf(time.Now())}); err != nil {
		return err
	}
	_, err = dev.Sync(ctx)
	return err
}

// conflict has a second tablet of the first worker edit a client's housing
// status while the first has changed it too: a conflict for the supervisor.
func (d *demoRun) conflict(ctx context.Context) error {
	first := d.tablets[0]
	clients, err := first.Clients(ctx)
	if err != nil {
		return err
	}
	second, _, err := d.c.demoTablet(filepath.Join(d.dir, "second"))
	if err != nil {
		return err
	}
	d.tablets = append(d.tablets, second)
	if err := second.SignIn(ctx, d.keys[0]); err != nil {
		return err
	}
	if _, err := second.Sync(ctx); err != nil {
		return err
	}
	target := clients[0].ID
	if err := first.UpdateClient(ctx, target, caseload.Edit{Field: "housing_status", Value: caseload.String("hostel")}); err != nil {
		return err
	}
	if err := second.UpdateClient(ctx, target, caseload.Edit{Field: "housing_status", Value: caseload.String("supported_housing")}); err != nil {
		return err
	}
	for _, dev := range []*caseload.Device{first, second, first} {
		if _, err := dev.Sync(ctx); err != nil {
			return err
		}
	}
	return nil
}

// demoAppointments books each client's appointments on a worker's tablet:
// last week's kept or missed (with a coded reason, and a contact logged
// with the outcome), next week's booked.
type demoAppointments struct{ attended, missed, upcoming int }

func (n *demoAppointments) book(ctx context.Context, dev *caseload.Device, rng *mrand.Rand, clients []caseload.Client) error {
	today := time.Now().Truncate(24 * time.Hour)
	for i, cl := range clients {
		typ := demoAppointmentTypes[i%len(demoAppointmentTypes)]
		past := caseload.Appointment{Type: typ.kind, WithWhom: typ.with, Place: typ.place, DurationMinutes: 45,
			StartsAt: today.AddDate(0, 0, -1-rng.IntN(5)).Add(time.Duration(10+rng.IntN(6)) * time.Hour)}
		id, err := dev.BookAppointment(ctx, cl.ID, past)
		if err != nil {
			return err
		}
		o := caseload.Outcome{Attended: true, Contact: &caseload.Contact{OccurredAt: past.StartsAt, Category: "general", Mode: "office",
			DurationMinutes: past.DurationMinutes, Outcome: "Kept the appointment with " + typ.with}}
		if rng.IntN(3) == 0 {
			o = caseload.Outcome{DNAReason: demoDNAReasons[rng.IntN(len(demoDNAReasons))], Contact: &caseload.Contact{
				OccurredAt: past.StartsAt.Add(2 * time.Hour), Category: "general", Mode: "phone", Outcome: "Followed up a missed appointment"}}
			n.missed++
		} else {
			n.attended++
		}
		if _, err := dev.RecordAttendance(ctx, cl.ID, id, o); err != nil {
			return err
		}
		next := past
		next.StartsAt = today.AddDate(0, 0, 1+rng.IntN(7)).Add(time.Duration(10+rng.IntN(6)) * time.Hour)
		if _, err := dev.BookAppointment(ctx, cl.ID, next); err != nil {
			return err
		}
		n.upcoming++
	}
	return nil
}

// demoTablet opens a simulated tablet with a synced software passkey.
func (c *cli) demoTablet(dir string) (*caseload.Device, *software.Key, error) {
	enc := make([]byte, 32)
	rand.Read(enc)
	dev, err := caseload.Open(caseload.Config{Dir: dir, Key: enc, Server: c.server, HTTPClient: c.http})
	if err != nil {
		return nil, nil, err
	}
	key := software.New(c.origin)
	key.RPID, key.Synced = c.rpID, true
	return dev, key, nil
}

func demoContact(rng *mrand.Rand, at time.Time) caseload.Contact {
	c := caseload.Contact{OccurredAt: at, Mode: demoModes[rng.IntN(len(demoModes))], DurationMinutes: 15 + 5*rng.IntN(10)}
	switch rng.IntN(6) {
	case 0:
		c.Category, c.Outcome = "treatment_attendance", "Keywork session at the recovery service"
		c.Attendance = []string{"attended", "attended", "attended", "did_not_attend", "rescheduled"}[rng.IntN(5)]
		c.Provider = "Lambeth Recovery Service"
	case 1:
		c.Category, c.Outcome = "drug_test", "Oral fluid test"
		c.TestResult = []string{"negative", "negative", "positive"}[rng.IntN(3)]
		if c.TestResult == "positive" {
			c.Substances = []string{[]string{"opiates", "crack_cocaine", "cannabis"}[rng.IntN(3)]}
		}
	case 2:
		c.Category, c.Outcome = "housing", "Met the housing officer about the tenancy"
		c.HousingStatusAfter = []string{"hostel", "temporary_accommodation", "supported_housing", "settled_tenancy"}[rng.IntN(4)]
	case 3:
		c.Category, c.Outcome = "employment", "Job centre appointment"
		c.ETEStatusAfter = []string{"unemployed_seeking", "in_training", "volunteering", "employed_part_time"}[rng.IntN(4)]
	case 4:
		c.Category, c.Outcome = "finance", "Benefits claim and arrears plan"
	default:
		c.Category, c.Outcome = "family", "Contact with children arranged"
	}
	c.Notes = demoNotes[rng.IntN(len(demoNotes))]
	return c
}

var (
	demoGiven    = []string{"Alex", "Sam", "Jamie", "Chris", "Jo", "Lee", "Kelly", "Danny", "Michelle", "Paul", "Tracey", "Wayne"}
	demoFamily   = []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Walker"}
	demoPathways = []string{"arrest_referral", "drr", "dtto", "licence", "voluntary"}
	demoModes    = []string{"home_visit", "office", "phone", "community"}
	// demoDNAReasons are the reasons a demo client missed an appointment.
	demoDNAReasons       = []string{"forgot", "unwell", "client_cancelled", "in_hospital", "in_custody"}
	demoAppointmentTypes = []struct{ kind, with, place string }{
		{"keywork", "Keyworker", "Lambeth Recovery Service"},
		{"prescribing_review", "Prescriber", "Lambeth Recovery Service"},
		{"probation", "Probation officer", "Brixton probation office"},
		{"housing", "Housing officer", "Lambeth Civic Centre"},
		{"job_centre_or_benefits", "Work coach", "Brixton Jobcentre Plus"},
	}
	demoNotes = []string{
		"Engaged well and agreed the next appointment.",
		"Reported reduced use since starting the script.",
		"Missed the morning slot; seen in the afternoon instead.",
		"Worried about rent arrears; referral to debt advice discussed.",
		"Family contact going well; sees children at weekends.",
	}
)
