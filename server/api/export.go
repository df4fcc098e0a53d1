package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/review"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// ExportPattern is the route of the CSV exports, for Config.Routes:
//
//	GET /export/contacts.csv?from=RFC3339&to=RFC3339&team_id=UUID
//	GET /export/statistics.csv?from=...&to=...&team_id=...&no_contact_days=N
//	GET /export/outcome-movement.csv?from=...&to=...&team_id=...
//
// Every parameter is optional (see review.ExportQuery for the defaults).
const ExportPattern = "GET /export/"

// exportFlushRows is how many rows go out between explicit flushes.
const exportFlushRows = 500

// ExportHandler serves the CSV exports of package review. A request is
// authenticated like an RPC, by "Authorization: Bearer <access token>"
// through ids, and only supervisors and admins may export. Errors before
// the first row are Connect-style JSON ({"code","message"}) with the
// matching HTTP status; the CSV itself is streamed row by row
// (encoding/csv, never built in memory) as an attachment, and a failure
// after it started cuts the response off, so a download is never silently
// short. Cells that a spreadsheet would read as a formula (starting with
// = + - @, a tab or a carriage return) are prefixed with a single quote.
// Every export is audited by the review service; the log gets ids only.
func ExportHandler(ids identity.Source, svc *review.Service, log zerolog.Logger) http.Handler {
	return &exportHandler{ids: ids, svc: svc, log: log}
}

type exportHandler struct {
	ids identity.Source
	svc *review.Service
	log zerolog.Logger
}

// exportKinds are the exports by path: their parameters, header row and
// the review method producing their rows.
var exportKinds = map[string]struct {
	name    string
	params  []string
	columns []string
	run     func(*review.Service, context.Context, *identity.Identity, review.ExportQuery, review.Sink) (int, error)
}{
	"/export/contacts.csv": {"contacts", []string{"from", "to", "team_id"}, review.ContactColumns, (*review.Service).ExportContacts},
	"/export/statistics.csv": {"statistics", []string{"from", "to", "team_id", "no_contact_days"}, review.StatisticsColumns,
		(*review.Service).ExportStatistics},
	"/export/outcome-movement.csv": {"outcome-movement", []string{"from", "to", "team_id"}, review.OutcomeMovementColumns,
		(*review.Service).ExportOutcomeMovement},
}

func (h *exportHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if l := zerolog.Ctx(ctx); l.GetLevel() == zerolog.Disabled {
		ctx = h.log.WithContext(ctx)
	}
	kind, ok := exportKinds[r.URL.Path]
	if !ok {
		exportError(ctx, w, connect.NewError(connect.CodeNotFound, errors.New("no such export")))
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		exportError(ctx, w, connect.NewError(connect.CodeUnimplemented, errors.New("exports are fetched with GET")))
		return
	}
	id, err := h.ids.Identify(ctx, r.Header)
	if err != nil {
		exportError(ctx, w, err)
		return
	}
	zerolog.Ctx(ctx).UpdateContext(func(c zerolog.Context) zerolog.Context {
		return c.Str("user_id", id.UserID).Str("device_id", id.DeviceID)
	})
	q, err := exportQuery(r.URL.Query(), kind.params)
	if err != nil {
		exportError(ctx, w, err)
		return
	}
	// Like a stream, an export stops when the session ends or the caller's
	// caseload changes under it: the review service checks before each
	// row, and a write blocked on a client that does not read is ended.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-id.Ended:
		case <-id.Changed:
		case <-ctx.Done():
			return
		}
		responseOf(ctx).abort()
		cancel()
	}()
	out := &csvOut{w: w, columns: kind.columns, filename: exportFilename(kind.name, q)}
	rows, err := kind.run(h.svc, ctx, id, q, out)
	if err != nil {
		if !out.started {
			exportError(ctx, w, err)
			return
		}
		zerolog.Ctx(ctx).Warn().Str("export", kind.name).Int("rows", rows).Str("error_type", fmt.Sprintf("%T", err)).Bool("canceled", errors.Is(err, context.Canceled)).Msg("export cut off")
		panic(http.ErrAbortHandler) // the client sees a failed download, not a short file
	}
}

// exportQuery parses an export's query string: known parameters only,
// each at most once.
func exportQuery(v url.Values, allowed []string) (review.ExportQuery, error) {
	var q review.ExportQuery
	for name, vals := range v {
		if !slices.Contains(allowed, name) {
			return q, exportInvalid("unknown parameter %q (this export takes %s)", clipParam(name), strings.Join(allowed, ", "))
		}
		if len(vals) != 1 {
			return q, exportInvalid("parameter %s is given more than once", name)
		}
	}
	parseTime := func(name string) (time.Time, error) {
		s := v.Get(name)
		if s == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return t, exportInvalid("%s must be an RFC 3339 time, like 2026-03-01T00:00:00Z", name)
		}
		return t, nil
	}
	var err error
	if q.From, err = parseTime("from"); err != nil {
		return q, err
	}
	if q.To, err = parseTime("to"); err != nil {
		return q, err
	}
	if q.TeamID = v.Get("team_id"); q.TeamID != "" && !schema.ValidID(q.TeamID) {
		return q, exportInvalid("team_id must be a lower-case UUID")
	}
	if s := v.Get("no_contact_days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > review.MaxQuietDays {
			return q, exportInvalid("no_contact_days must be a whole number from 1 to %d", review.MaxQuietDays)
		}
		q.QuietDays = n
	}
	return q, nil
}

func exportInvalid(format string, args ...any) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf(format, args...))
}

func clipParam(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	return strings.ToValidUTF8(s, "?")
}

// exportFilename names the download after the export and its period.
//
// Dates are written the UK way, day-month-year (a file name cannot hold a
// slash): "throughcare-statistics-from-01-03-2026-to-15-03-2026.csv". The
// period's end is exclusive, so the name gives the last day it includes.
// The console sends local midnights; noon is added before taking the day
// so that a UK midnight (UTC+0 or +1) names its own day.
func exportFilename(kind string, q review.ExportQuery) string {
	const ukDay = "02-01-2006"
	name := "throughcare-" + kind
	if !q.From.IsZero() {
		name += "-from-" + q.From.UTC().Add(12*time.Hour).Format(ukDay)
	}
	if !q.To.IsZero() {
		name += "-to-" + q.To.UTC().Add(12*time.Hour).AddDate(0, 0, -1).Format(ukDay)
	}
	return name + ".csv"
}

// csvOut writes an export's CSV (a review.Sink), starting the response
// with its first row (or when flushed, for an empty export).
type csvOut struct {
	w        http.ResponseWriter
	cw       *csv.Writer
	columns  []string
	filename string
	started  bool
	rows     int
}

func (o *csvOut) start() error {
	o.started = true
	h := o.w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+o.filename+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	o.w.WriteHeader(http.StatusOK)
	o.cw = csv.NewWriter(o.w)
	return o.cw.Write(o.columns)
}

// Row writes a row, neutralising formula-like cells.
func (o *csvOut) Row(cells []string) error {
	if !o.started {
		if err := o.start(); err != nil {
			return err
		}
	}
	for i, c := range cells {
		cells[i] = CSVCell(c)
	}
	if err := o.cw.Write(cells); err != nil {
		return err
	}
	if o.rows++; o.rows%exportFlushRows == 0 {
		return o.flush()
	}
	return nil
}

// flush pushes the buffered rows out to the client; an error means they
// did not reach the connection.
func (o *csvOut) flush() error {
	o.cw.Flush()
	if err := o.cw.Error(); err != nil {
		return err
	}
	if err := http.NewResponseController(o.w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// Flush writes out what is buffered: the export is complete only if this
// works.
func (o *csvOut) Flush() error {
	if !o.started {
		if err := o.start(); err != nil {
			return err
		}
	}
	return o.flush()
}

// CSVCell neutralises a cell a spreadsheet would run as a formula (one
// starting with = + - @, a tab or a carriage return) by prefixing a single
// quote; other cells pass unchanged.
func CSVCell(s string) string {
	// Spreadsheets skip leading spaces and line breaks before a formula and
	// read full-width signs as their ASCII forms.
	t := strings.TrimLeft(s, " \t\r\n")
	if t != "" && (strings.IndexByte("=+-@", t[0]) >= 0 || strings.ContainsRune("＝＋－＠", []rune(t)[0])) ||
		s != "" && strings.IndexByte("\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// exportError answers an export request that failed before its first row
// like Connect answers a unary call: a JSON {"code","message"} body with
// the code's HTTP status.
func exportError(ctx context.Context, w http.ResponseWriter, err error) {
	var cerr *connect.Error
	if !errors.As(err, &cerr) {
		cerr = connectError(ctx, err).(*connect.Error)
	}
	status, ok := httpStatus[cerr.Code()]
	if !ok {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	werr := json.NewEncoder(w).Encode(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{cerr.Code().String(), cerr.Message()})
	unsent(zerolog.Ctx(ctx).Info().Str("route", "export").Str("code", cerr.Code().String()), werr).Msg("export refused")
}

// httpStatus is Connect's mapping of codes to HTTP statuses.
var httpStatus = map[connect.Code]int{
	connect.CodeCanceled:           499,
	connect.CodeUnknown:            http.StatusInternalServerError,
	connect.CodeInvalidArgument:    http.StatusBadRequest,
	connect.CodeDeadlineExceeded:   http.StatusGatewayTimeout,
	connect.CodeNotFound:           http.StatusNotFound,
	connect.CodeAlreadyExists:      http.StatusConflict,
	connect.CodePermissionDenied:   http.StatusForbidden,
	connect.CodeResourceExhausted:  http.StatusTooManyRequests,
	connect.CodeFailedPrecondition: http.StatusBadRequest,
	connect.CodeAborted:            http.StatusConflict,
	connect.CodeOutOfRange:         http.StatusBadRequest,
	connect.CodeUnimplemented:      http.StatusNotImplemented,
	connect.CodeInternal:           http.StatusInternalServerError,
	connect.CodeUnavailable:        http.StatusServiceUnavailable,
	connect.CodeDataLoss:           http.StatusInternalServerError,
	connect.CodeUnauthenticated:    http.StatusUnauthorized,
}
