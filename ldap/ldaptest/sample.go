package ldaptest

// The sample directory of [SampleConfig].
const (
	SampleBaseDN          = "dc=example,dc=com"
	SampleServiceDN       = "cn=ssokit,ou=services,dc=example,dc=com"
	SampleServicePassword = "service-secret"
)

// SampleConfig returns a small directory under dc=example,dc=com:
//
//   - the service account cn=ssokit,ou=services (password "service-secret");
//   - uid=alice,ou=people: alice@example.com, password "alice-password",
//     Alice Liddell, member of admins and staff, userPrincipalName
//     alice@example.com;
//   - uid=bob,ou=people: bob@example.com, password "bob-password", Bob
//     Builder, member of staff;
//   - the groups cn=admins and cn=staff under ou=groups.
//
// Each call returns a fresh copy to modify.
func SampleConfig() Config {
	person := func(uid, given, sn string) User {
		mail := uid + "@example.com"
		return User{
			DN:       "uid=" + uid + ",ou=people," + SampleBaseDN,
			Password: uid + "-password",
			Attributes: map[string][]string{
				"objectClass":       {"top", "person", "organizationalPerson", "inetOrgPerson"},
				"uid":               {uid},
				"mail":              {mail},
				"cn":                {given + " " + sn},
				"givenName":         {given},
				"sn":                {sn},
				"displayName":       {given + " " + sn},
				"userPrincipalName": {mail},
				"sAMAccountName":    {uid},
			},
		}
	}
	return Config{
		BaseDN: SampleBaseDN,
		Users: []User{
			{
				DN:       SampleServiceDN,
				Password: SampleServicePassword,
				Attributes: map[string][]string{
					"objectClass": {"top", "applicationProcess", "simpleSecurityObject"},
					"cn":          {"ssokit"},
				},
			},
			person("alice", "Alice", "Liddell"),
			person("bob", "Bob", "Builder"),
		},
		Groups: []Group{
			{DN: "cn=admins,ou=groups," + SampleBaseDN, Members: []string{"uid=alice,ou=people," + SampleBaseDN}},
			{DN: "cn=staff,ou=groups," + SampleBaseDN, Members: []string{"uid=alice,ou=people," + SampleBaseDN, "uid=bob,ou=people," + SampleBaseDN}},
		},
	}
}
