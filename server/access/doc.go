// Package access is Throughcare's access policy: the one place that says
// who may do what. Every handler and domain package asks it; none decides
// on its own. What follows is the whole policy.
//
// # Who is calling
//
// A caller is a user signed in on a device, with one role in one area (the
// tenant). The roles are:
//
//   - worker: an outreach worker with a caseload;
//   - supervisor: reviews the work of their teams;
//   - admin: manages an area.
//
// Every procedure needs a session except the ones that start one: the
// enrolment and sign-in ceremonies (BeginEnrollment, FinishEnrollment,
// BeginLogin, FinishLogin) and renewing a session with its refresh token
// (Refresh). A call without a valid session is refused as unauthenticated
// before its body is read. Identities are resolved from the directory on
// every call, so a disabled user, a revoked device or a changed role takes
// effect at once.
//
// # Procedures by role
//
// Any signed-in caller may sign out, list and revoke their own devices,
// sync (push, pull, subscribe) and describe their area. The rest is by role
// (see Action):
//
//   - only admins create teams, disable users, list and revoke other
//     users' devices, export everything held about a client (subject
//     access), set their area's retention and read the audit trail (an
//     area's entries about a client or by a user);
//   - supervisors and admins list teams, users and clients, invite people
//     and list and revoke invites, create clients, assign and unassign
//     them and close their cases;
//   - supervisors and admins use the review service: the queue of
//     contacts, client timelines, review notes, conflicts and their
//     resolution, statistics and the CSV exports;
//   - a court order's review report (a DRR review report) is for
//     supervisors and admins on the clients in their reach, and for a
//     worker on the clients they are assigned now (OrderReportClient).
//
// A role that may not use a procedure at all is refused (permission denied)
// before anything named in the request is looked at.
//
// # The operator
//
// An operator on the server's machine is not a user and has no session.
// The local operator channel (package operator, a Unix socket in the data
// directory) grants exactly one thing: minting an admin invite for an area
// named by the operator, creating the area if it is new. That is how a
// second area gets its first admin and a lost admin is replaced while the
// server runs. It admits only processes of the server's own user and of
// root (Operator): the socket is 0600 in the 0700 data directory, and the
// peer's credentials are checked on every request where the kernel gives
// them. The invite it mints is like the bootstrap one (role admin, created
// by the server); whoever enrols with it is an admin of that area and
// nothing more.
//
// # Caseload: who sees a client
//
// A client's records sync in the client's bucket. A caller's devices hold
// exactly the buckets of their caseload (Caseload):
//
//   - a worker: the clients they are assigned to now (open assignments);
//   - a supervisor: the clients of their teams, in their area;
//   - an admin: every client of their area.
//
// A client is created in a team; at once its team's supervisors and its
// area's admins hold it (NewClientHolders), and a worker holds it from the
// moment they are assigned until they are unassigned. Only an enabled
// worker of the client's team may be assigned it (Assignable), so the
// supervisors who review a worker's work always see it. When a worker loses a
// client their devices are told to delete it at the next pull.
//
// A supervisor's or an admin's caseload is other people's work, so every
// pull or stream page that sends them records is audited (which buckets,
// how many records; SyncReadsAudited); a worker's reads of their own
// caseload are not.
//
// # Reach: what the admin and review services show
//
// Outside sync, a caller reaches (Reach):
//
//   - an admin: everything in their area;
//   - a supervisor: their own teams, the users who share one of those
//     teams, the teams' clients, and the invites of workers to those teams;
//   - a worker: only the description of their area.
//
// Admins may invite any role; supervisors invite only workers, to their own
// teams. Anything outside the caller's reach (another area's, another
// team's) answers "not found" exactly as something that does not exist, so
// ids cannot be probed, and lists leave it out.
//
// # Changes: who may write what
//
// Every change a device pushes is decided on its own (Push.Decide):
//
//   - the client must be on the caller's caseload, or the change must be
//     late work (below); a client they never held answers "not found";
//   - some fields may be written only by some roles, as the schema
//     declares (schema.Field.Writers; the SDK refuses them before queueing):
//     a client's area by admins; a client's status and its deletion by
//     supervisors and admins; a review note's subject, text, state and
//     deletion by supervisors and admins; the answer to a review query
//     (worker_response) by workers. Every other field of a record the
//     caller reaches may be written by any role;
//   - a record's author (contacts, appointments and TOPs: the schema's
//     RecordType.Authorship) is the person making it, set when it is
//     created and never changed; a contact's or a TOP's other fields are
//     changed by its author, or corrected by a supervisor or admin, while
//     any colleague reaching an appointment may record its outcome.
//
// The changes the server writes on a user's behalf follow the field writers
// too (MayWrite): a supervisor's review notes and conflict resolutions are
// checked before they are written. A new client's record is the one
// exception: it is written whole on the server's account when a supervisor
// or admin creates the client.
//
// Late work is work a worker did on a client while they held it that
// arrives after they lost it (a tablet offline when the client was
// reassigned). It is accepted, flagged for review, only if it was stamped
// while they held the client, their device has not been told to delete the
// client since, it arrives within the late-work window (14 days unless
// configured) after their access ended, and it creates a contact, goal or
// referral, or edits one they created, without removing anything from a
// set. Anything else for a client they no longer hold is refused as "access
// ended" with the reason.
package access
