package hubsync

import "fmt"

// FieldType is one of the four value types that sync between the LMS and HubSpot. A mapping row is
// valid only when both sides have the same FieldType.
type FieldType string

// The syncable types.
const (
	TypeString   FieldType = "string"
	TypeNumber   FieldType = "number"
	TypeDate     FieldType = "date"
	TypeDateTime FieldType = "datetime"
)

// FieldTypes lists the syncable types.
func FieldTypes() []FieldType { return []FieldType{TypeString, TypeNumber, TypeDate, TypeDateTime} }

// Validate reports a type that is not one of the four syncable ones.
func (t FieldType) Validate() error {
	switch t {
	case TypeString, TypeNumber, TypeDate, TypeDateTime:
		return nil
	}
	return fmt.Errorf("hubsync: unknown field type %q (want string, number, date or datetime)", string(t))
}
