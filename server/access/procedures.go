package access

import (
	"slices"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
)

// Action is something outside sync that only some roles may do: one
// procedure of the admin or review service, or a family of them.
type Action int

// The actions.
const (
	DescribeArea Action = iota + 1
	CreateTeams
	ListTeams
	InvitePeople
	ListInvites
	RevokeInvites
	ListUsers
	DisableUsers
	CreateClients
	ListClients
	AssignClients
	UnassignClients
	ReviewContacts
	ReadTimelines
	ReviewConflicts
	ResolveConflicts
	ReadStatistics
	Export
	TakeBackups
	SubjectAccess
	SetRetention
	ReadAudit
	ViewCaseload
	CloseClients
	ManageDevices
	ReadOrderReports
	SetTOPInterval
)

var (
	everyone = []identity.Role{identity.Worker, identity.Supervisor, identity.Admin}
	staff    = []identity.Role{identity.Supervisor, identity.Admin}
	admins   = []identity.Role{identity.Admin}
)

// actions says, for each action, how a refusal names it and who may do it.
var actions = map[Action]struct {
	what  string
	roles []identity.Role
}{
	DescribeArea:     {"describe the area", everyone},
	CreateTeams:      {"create teams", admins},
	ListTeams:        {"list teams", staff},
	InvitePeople:     {"invite people", staff},
	ListInvites:      {"list invites", staff},
	RevokeInvites:    {"revoke invites", staff},
	ListUsers:        {"list users", staff},
	DisableUsers:     {"disable users", admins},
	CreateClients:    {"create clients", staff},
	ListClients:      {"list clients", staff},
	AssignClients:    {"assign clients", staff},
	UnassignClients:  {"unassign clients", staff},
	ReviewContacts:   {"review contacts", staff},
	ReadTimelines:    {"read client timelines", staff},
	ReviewConflicts:  {"review conflicts", staff},
	ResolveConflicts: {"resolve conflicts", staff},
	ReadStatistics:   {"read statistics", staff},
	Export:           {"export", staff},
	TakeBackups:      {"take backups", admins},
	SubjectAccess:    {"export everything held about a client", admins},
	SetRetention:     {"set the area's retention", admins},
	ReadAudit:        {"read the audit trail", admins},
	ViewCaseload:     {"view the caseload", staff},
	CloseClients:     {"close clients' cases", staff},
	ManageDevices:    {"list and revoke other users' devices", admins},
	// Court order review reports: staff for clients in reach, workers for
	// the clients they are assigned now (OrderReportClient).
	ReadOrderReports: {"read court order reports", everyone},
	SetTOPInterval:   {"set the area's TOP review interval", admins},
}

// Roles returns the roles that may do an action.
func (a Action) Roles() []identity.Role { return slices.Clone(actions[a].roles) }

// String says what the action does ("create teams").
func (a Action) String() string { return actions[a].what }

// ErrSignIn is the answer to a call without a caller, or whose caller's
// directory entry no longer matches their session.
var ErrSignIn = errkind.E(errkind.Unauthenticated, "sign-in required")

// Allow returns nil if the caller's role may do a; otherwise ErrSignIn
// (no caller) or an errkind.Forbidden error naming the role and the action.
// It looks at nothing but the role, so it is decided before anything named
// in the request.
func Allow(id *identity.Identity, a Action) error {
	if id == nil {
		return ErrSignIn
	}
	if !slices.Contains(actions[a].roles, id.Role) {
		return Forbidden(id.Role, a.String())
	}
	return nil
}

// SyncReadsAudited reports whether what the caller's pulls and streams
// send is audited page by page: a supervisor's or an admin's sync reads
// clients that are not their own caseload (bulk reads of other people's
// work), a worker's reads only their own caseload and are not.
func SyncReadsAudited(id *identity.Identity) bool {
	return id != nil && id.Role != identity.Worker
}

// Forbidden is the refusal of something a role may not do.
func Forbidden(r identity.Role, what string) error {
	return errkind.E(errkind.Forbidden, "a %s may not %s", r, what)
}

// Rule is the policy of one procedure.
type Rule struct {
	// Public procedures need no session.
	Public bool
	// Action, if set, is what the procedure does: only its roles may call
	// it (the domain package asks Allow). Zero: any signed-in caller, on
	// what they reach.
	Action Action
}

func rpc(service, method string) string { return "/throughcare.v1." + service + "/" + method }

// procedures is the rule of every procedure of the API.
var procedures = map[string]Rule{
	rpc("AuthService", "BeginEnrollment"):  {Public: true},
	rpc("AuthService", "FinishEnrollment"): {Public: true},
	rpc("AuthService", "BeginLogin"):       {Public: true},
	rpc("AuthService", "FinishLogin"):      {Public: true},
	rpc("AuthService", "Refresh"):          {Public: true},
	rpc("AuthService", "Logout"):           {},
	rpc("AuthService", "ListDevices"):      {},
	rpc("AuthService", "RevokeDevice"):     {},

	rpc("SyncService", "Push"):      {},
	rpc("SyncService", "Pull"):      {},
	rpc("SyncService", "Subscribe"): {},

	rpc("AdminService", "GetArea"):        {Action: DescribeArea},
	rpc("AdminService", "CreateTeam"):     {Action: CreateTeams},
	rpc("AdminService", "ListTeams"):      {Action: ListTeams},
	rpc("AdminService", "CreateInvite"):   {Action: InvitePeople},
	rpc("AdminService", "ListInvites"):    {Action: ListInvites},
	rpc("AdminService", "RevokeInvite"):   {Action: RevokeInvites},
	rpc("AdminService", "ListUsers"):      {Action: ListUsers},
	rpc("AdminService", "DisableUser"):    {Action: DisableUsers},
	rpc("AdminService", "CreateClient"):   {Action: CreateClients},
	rpc("AdminService", "ListClients"):    {Action: ListClients},
	rpc("AdminService", "AssignClient"):   {Action: AssignClients},
	rpc("AdminService", "UnassignClient"): {Action: UnassignClients},
	rpc("AdminService", "StreamBackup"):   {Action: TakeBackups},
	rpc("AdminService", "ExportSubject"):  {Action: SubjectAccess},
	rpc("AdminService", "SetRetention"):   {Action: SetRetention},
	rpc("AdminService", "ListAudit"):      {Action: ReadAudit},

	rpc("AdminService", "CloseClient"):      {Action: CloseClients},
	rpc("AdminService", "ListUserDevices"):  {Action: ManageDevices},
	rpc("AdminService", "RevokeUserDevice"): {Action: ManageDevices},

	rpc("AdminService", "SetTOPInterval"): {Action: SetTOPInterval},
	rpc("ReviewService", "ListTOPIssues"): {Action: ViewCaseload},

	rpc("ReviewService", "ListContacts"):    {Action: ReviewContacts},
	rpc("ReviewService", "ReviewContact"):   {Action: ReviewContacts},
	rpc("ReviewService", "GetTimeline"):     {Action: ReadTimelines},
	rpc("ReviewService", "ListConflicts"):   {Action: ReviewConflicts},
	rpc("ReviewService", "ResolveConflict"): {Action: ResolveConflicts},
	rpc("ReviewService", "GetStatistics"):   {Action: ReadStatistics},
	rpc("ReviewService", "GetCaseload"):     {Action: ViewCaseload},

	rpc("ReviewService", "GetOutcomeMovement"): {Action: ReadStatistics},
	rpc("ReviewService", "GetOrderReport"):     {Action: ReadOrderReports},
}

// Procedure returns the rule of a procedure ("/throughcare.v1.AuthService/
// Refresh"), and whether the policy knows it.
func Procedure(procedure string) (Rule, bool) {
	r, ok := procedures[procedure]
	return r, ok
}

// Public reports whether a procedure needs no session.
func Public(procedure string) bool { return procedures[procedure].Public }

// PublicProcedures returns the procedures that need no session.
func PublicProcedures() map[string]bool {
	out := map[string]bool{}
	for p, r := range procedures {
		if r.Public {
			out[p] = true
		}
	}
	return out
}
