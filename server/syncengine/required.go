package syncengine

import (
	"fmt"
	"slices"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// requiredFields returns the store's Created check: every record the batch
// creates must get its required fields in the same batch, from changes the
// caller was allowed to make. It runs inside the push transaction after
// every change has been authorized, so it sees exactly the records that do
// not exist yet and what was allowed of each:
//
//   - a record none of whose changes was allowed is left to those refusals
//     (so a client out of reach reads the same whether or not it exists);
//   - a record missing a required field the batch does not carry refuses
//     the push whole, with a MISSING_REQUIRED problem per field;
//   - a record whose required field was sent but refused is refused
//     whole: each of its other changes gets that refusal's reason.
func (e *Engine) requiredFields(chs []*v1.Change) func([][]int, []Decision) error {
	return func(records [][]int, ds []Decision) error {
		var problems []*v1.ChangeProblem
		for _, idx := range records {
			allowed := slices.DeleteFunc(slices.Clone(idx), func(i int) bool { return ds[i].Refused() })
			if len(allowed) == 0 {
				continue
			}
			first, ch := allowed[0], chs[allowed[0]]
			missing := e.cfg.Schema.MissingRequired(ch.GetRecordType(), func(f string) bool {
				return slices.ContainsFunc(allowed, func(i int) bool { return chs[i].GetField() == f })
			})
			var why *Decision // the refusal of a required field
			for _, f := range missing {
				j := slices.IndexFunc(idx, func(i int) bool { return chs[i].GetField() == f })
				if j >= 0 {
					if why == nil {
						why = &ds[idx[j]]
					}
					continue
				}
				problems = append(problems, &v1.ChangeProblem{
					Index: uint32(first), DeviceSeq: ch.GetDeviceSeq(), RecordType: ch.GetRecordType(), Field: f,
					Problem: v1.Problem_PROBLEM_MISSING_REQUIRED,
					Message: fmt.Sprintf("change %d (device_seq %d) %s.%s: a new %s record needs this field (send it in the same push)", first, ch.GetDeviceSeq(), ch.GetRecordType(), f, ch.GetRecordType()),
				})
			}
			if why != nil {
				whole := Decision{Reason: why.Reason, Message: fmt.Sprintf("this new %s was not saved: %s", ch.GetRecordType(), why.Message)}
				for _, i := range allowed {
					ds[i] = whole
				}
			}
		}
		if len(problems) > 0 {
			return rejected(problems, e.cfg.Now())
		}
		return nil
	}
}
