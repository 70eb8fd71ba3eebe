package order

import (
	"net/mail"
	"strings"

	"github.com/example/orders/domain/kit"
)

// Contact is whom an order is for and where it goes: personal data of the order's
// customer, kept sealed in the log and erased with its key (kit.Personal).
type Contact struct {
	Name    string  `json:"name"`
	Email   string  `json:"email"`
	Address Address `json:"address"`
}

// Address is a postal address; Country is an ISO 3166-1 alpha-2 code.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	PostalCode string `json:"postal_code"`
	City       string `json:"city"`
	Country    string `json:"country"`
}

// Limits of a contact, exported for the API contract and tests.
const (
	MaxContactNameLength = 200
	MaxEmailLength       = 254 // RFC 5321's path limit
	MaxAddressLineLength = 200
	MaxPostalCodeLength  = 16
	MaxCityLength        = 100
)

// validateContact adds what is wrong with c, field by field, under "contact.".
func validateContact(v *kit.Validation, c Contact) {
	v.Text("contact.name", c.Name, MaxContactNameLength)
	if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email || a.Name != "" || len(c.Email) > MaxEmailLength {
		v.Add("contact.email", "must be an email address such as ada@example.com, at most 254 characters")
	}
	v.Text("contact.address.line1", c.Address.Line1, MaxAddressLineLength)
	if c.Address.Line2 != "" {
		v.Text("contact.address.line2", c.Address.Line2, MaxAddressLineLength)
	}
	v.Text("contact.address.postal_code", c.Address.PostalCode, MaxPostalCodeLength)
	v.Text("contact.address.city", c.Address.City, MaxCityLength)
	if !IsCountryCode(c.Address.Country) {
		v.Add("contact.address.country", "must be an ISO 3166-1 alpha-2 country code in upper case, such as FR")
	}
}

// IsCountryCode reports whether s is an assigned ISO 3166-1 alpha-2 code.
func IsCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && strings.Contains(countryCodes, s+" ")
}

// countryCodes are the assigned ISO 3166-1 alpha-2 codes (Debian's iso-codes), each
// followed by a space.
const countryCodes = "" +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ " +
	"BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR " +
	"CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU " +
	"ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ " +
	"LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ " +
	"MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF " +
	"PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI " +
	"SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR " +
	"TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW "
