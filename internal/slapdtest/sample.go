package slapdtest

// SampleLDIF is the directory every server starts with, under
// dc=example,dc=com (passwords are "<uid>-password"):
//
//   - cn=ssokit,ou=services: the service account (ServicePassword);
//   - uid=alice,ou=people: alice@example.com, Alice Liddell, in admins and staff;
//   - uid=bob,ou=people: bob@example.com, Bob Builder, in staff;
//   - uid=dup1 and uid=dup2: both shared@example.com;
//   - uid=o+brien: o+brien@example.com, a name that needs DN escaping;
//   - "uid=eve)(uid=*": eve@example.com, a DN that needs filter escaping, in eve-group;
//   - uid=carol: carol@example.com, password reset by an administrator (pwdReset);
//   - uid=dave: dave@example.com, locked by the password policy;
//   - the groupOfNames cn=admins, cn=staff and cn=eve-group under ou=groups,
//     with memberOf maintained by the memberof overlay;
//   - the password policy cn=default,ou=policies.
const SampleLDIF = `dn: dc=example,dc=com
objectClass: top
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,dc=example,dc=com
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=com
objectClass: organizationalUnit
ou: groups

dn: ou=services,dc=example,dc=com
objectClass: organizationalUnit
ou: services

dn: ou=policies,dc=example,dc=com
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,dc=example,dc=com
objectClass: top
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdMustChange: TRUE
pwdLockout: TRUE
pwdMaxFailure: 0

dn: cn=ssokit,ou=services,dc=example,dc=com
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: ssokit
userPassword: service-secret

dn: uid=alice,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: alice
cn: Alice Liddell
givenName: Alice
sn: Liddell
displayName: Alice Liddell
mail: alice@example.com
userPassword: alice-password

dn: uid=bob,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: bob
cn: Bob Builder
givenName: Bob
sn: Builder
displayName: Bob Builder
mail: bob@example.com
userPassword: bob-password

dn: uid=dup1,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: dup1
cn: Dup One
sn: One
mail: shared@example.com
userPassword: dup1-password

dn: uid=dup2,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: dup2
cn: Dup Two
sn: Two
mail: shared@example.com
userPassword: dup2-password

dn: uid=o\+brien,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: o+brien
cn: Pat O'Brien
sn: O'Brien
mail: o+brien@example.com
userPassword: o+brien-password

dn: uid=eve)(uid=*,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: eve)(uid=*
cn: Eve
sn: Eve
mail: eve@example.com
userPassword: eve-password

dn: uid=carol,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: Carol
mail: carol@example.com
userPassword: carol-password
pwdReset: TRUE

dn: uid=dave,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: dave
cn: Dave
sn: Dave
mail: dave@example.com
userPassword: dave-password
pwdAccountLockedTime: 000001010000Z

dn: cn=admins,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: admins
member: uid=alice,ou=people,dc=example,dc=com

dn: cn=staff,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: staff
member: uid=alice,ou=people,dc=example,dc=com
member: uid=bob,ou=people,dc=example,dc=com

dn: cn=eve-group,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: eve-group
member: uid=eve)(uid=*,ou=people,dc=example,dc=com
`
