package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgtype"

	"syncer/internal/money"
)

// numericCodec is pgx's numeric codec plus a direct binary path for
// money.Amount. pgx's stock path goes through big.Int (about 2 µs a row) and
// caps COPY well below what Postgres can take; an Amount is already a scaled
// integer whose fraction is exactly one base-10000 digit, so it encodes with
// a few divisions and no allocation.
type numericCodec struct{ pgtype.NumericCodec }

func registerNumeric(m *pgtype.Map) {
	m.RegisterType(&pgtype.Type{Name: "numeric", OID: pgtype.NumericOID, Codec: numericCodec{}})
}

func (c numericCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if format == pgtype.BinaryFormatCode {
		switch value.(type) {
		case money.Amount:
			return encodeAmountPlan{}
		case *money.Amount:
			return encodeAmountPtrPlan{}
		}
	}
	return c.NumericCodec.PlanEncode(m, oid, format, value)
}

func (c numericCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	if format == pgtype.BinaryFormatCode {
		if _, ok := target.(*money.Amount); ok {
			return scanAmountPlan{}
		}
	}
	return c.NumericCodec.PlanScan(m, oid, format, target)
}

type encodeAmountPlan struct{}

func (encodeAmountPlan) Encode(value any, buf []byte) ([]byte, error) {
	return appendNumeric(buf, value.(money.Amount).Units()), nil
}

type encodeAmountPtrPlan struct{}

func (encodeAmountPtrPlan) Encode(value any, buf []byte) ([]byte, error) {
	p := value.(*money.Amount)
	if p == nil {
		return nil, nil // NULL
	}
	return appendNumeric(buf, p.Units()), nil
}

const (
	numericPos = 0x0000
	numericNeg = 0x4000
	numericNaN = 0xC000
)

// appendNumeric writes units/10^4 in Postgres' binary numeric layout:
// ndigits, weight, sign, dscale, then base-10000 digits.
func appendNumeric(buf []byte, units int64) []byte {
	sign := uint16(numericPos)
	u := uint64(units)
	if units < 0 {
		sign = numericNeg
		u = uint64(-units)
	}
	var digits [6]uint16 // int64 needs at most 5 integer groups + 1 fraction group
	n := 0
	frac := uint16(u % 10000)
	intPart := u / 10000
	var groups [5]uint16
	g := 0
	for intPart > 0 {
		groups[g] = uint16(intPart % 10000)
		intPart /= 10000
		g++
	}
	for i := g - 1; i >= 0; i-- {
		digits[n] = groups[i]
		n++
	}
	weight := int16(g - 1)
	digits[n] = frac
	n++
	// Postgres stores no leading or trailing zero digits.
	start := 0
	for start < n && digits[start] == 0 {
		start++
		weight--
	}
	for n > start && digits[n-1] == 0 {
		n--
	}
	if start == n {
		weight = 0
		sign = numericPos
	}
	buf = binary.BigEndian.AppendUint16(buf, uint16(n-start))
	buf = binary.BigEndian.AppendUint16(buf, uint16(weight))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, money.Places)
	for _, d := range digits[start:n] {
		buf = binary.BigEndian.AppendUint16(buf, d)
	}
	return buf
}

type scanAmountPlan struct{}

func (scanAmountPlan) Scan(src []byte, target any) error {
	if src == nil {
		return errors.New("cannot scan NULL numeric into money.Amount")
	}
	units, err := parseNumeric(src)
	if err != nil {
		return err
	}
	*target.(*money.Amount) = money.FromUnits(units)
	return nil
}

func parseNumeric(src []byte) (int64, error) {
	if len(src) < 8 {
		return 0, fmt.Errorf("numeric: %d bytes is too short", len(src))
	}
	ndigits := int(binary.BigEndian.Uint16(src))
	weight := int(int16(binary.BigEndian.Uint16(src[2:])))
	sign := binary.BigEndian.Uint16(src[4:])
	if sign == numericNaN || sign > numericNeg {
		return 0, errors.New("numeric: NaN or infinity is not money")
	}
	if len(src) != 8+2*ndigits {
		return 0, errors.New("numeric: length does not match digit count")
	}
	var units int64
	for i := 0; i < ndigits; i++ {
		d := int64(binary.BigEndian.Uint16(src[8+2*i:]))
		// Digit i is worth d * 10000^(weight-i); units are value*10000.
		pow := weight - i + 1
		if pow < 0 {
			if d != 0 {
				return 0, fmt.Errorf("numeric: more than %d decimal places", money.Places)
			}
			continue
		}
		for p := 0; p < pow; p++ {
			d *= 10000
		}
		units += d
	}
	if sign == numericNeg {
		units = -units
	}
	return units, nil
}
