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
	if !isEmail(c.Email) {
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

// isEmail reports whether s is an email address and nothing else (no display name, no
// spaces around it), of at most MaxEmailLength bytes, as net/mail reads it. Most
// addresses are two dot-atoms of ASCII around an @, which net/mail always takes as they
// are: those are recognised here, since net/mail costs more than the rest of a
// contact's validation; anything else is left to it.
func isEmail(s string) bool {
	if len(s) > MaxEmailLength {
		return false
	}
	local, domain, ok := strings.Cut(s, "@")
	if ok && isDotAtom(local) && isDotAtom(domain) {
		return true
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

// isDotAtom reports whether s is atoms of RFC 5322 atext joined by single dots.
func isDotAtom(s string) bool {
	atom := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if atom == 0 {
				return false
			}
			atom = 0
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
			atom++
		default:
			return false
		}
	}
	return atom > 0
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
