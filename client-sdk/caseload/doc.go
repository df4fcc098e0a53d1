// Package caseload is the Throughcare Go SDK: a tablet's offline copy of
// its user's caseload. An app opens a Device on a local directory, enrols
// or signs it in with a passkey, and then reads and writes clients,
// contacts, goals, referrals, appointments and review notes whether or
// not there is signal, with the caseload's agenda and what is overdue.
// Every write is durable on the device and visible at once; Sync (or Run,
// in the background) sends the device's changes and brings in
// everyone else's, merged by the same rules the server uses, so what the
// device shows is what every device converges on. Nothing is dropped
// silently: a change the server refuses is kept with its reason
// (Rejections), concurrent edits are kept as conflicts for review, and a
// session that cannot be renewed stops sync without touching unsynced work,
// and a new store signed in as a device that sent changes before (an app
// installed again) numbers its own after them, so none is taken for a
// duplicate.
package caseload
