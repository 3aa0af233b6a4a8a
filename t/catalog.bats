#!/usr/bin/env bats
# catalog: services, prices in euros, retirement.

load helper

@test "catalog add takes minutes and euros, stores cents" {
	run catalog add --name "Massaggio svedese" --duration 60 --buffer 15 --price 45,50
	assert_success
	assert_output '{"type":"service","id":1,"name":"Massaggio svedese","duration":60,"buffer":15,"price_cents":4550,"retired":null,"created":"2026-11-30T08:00:00+01:00"}'
	run catalog add --name Viso --duration 30
	[ "$(rv_json '["price_cents"]')" = null ]
	run catalog list --format table
	assert_line --index 0 "ID  NAME               MIN  BUFFER  PRICE  RETIRED"
	assert_line --index 1 " 1  Massaggio svedese   60      15  45.50  "
}

@test "catalog refuses bad durations, prices and names" {
	for args in "--duration 0" "--duration 721" "--duration 60 --buffer 300" \
	    "--duration abc" "--duration 60 --price -3" "--duration 60 --price 1.234" \
	    "--duration 60 --price 12e3"; do
		run catalog add --name X $args
		[ "$status" -eq 64 ] || [ "$status" -eq 65 ]
	done
	run catalog add --name 42 --duration 30
	assert_failure 65
	assert_output "catalog: a service name cannot be a number"
	catalog add --name Viso --duration 30 >/dev/null
	run catalog add --name VISO --duration 30
	assert_failure 1
	assert_output "catalog: a service named 'VISO' already exists (id 1)"
	[ "$(rv_sql 'SELECT count(*) FROM service')" = 1 ]
}

@test "catalog edit, retire and unretire" {
	catalog add --name Viso --duration 30 >/dev/null
	run catalog edit viso --duration 45 --price 30
	assert_success
	[ "$(rv_json '["duration"]')" = 45 ]
	[ "$(rv_json '["price_cents"]')" = 3000 ]
	run catalog retire 1
	[ "$(rv_json '["retired"]')" = 2026-11-30T08:00:00+01:00 ]
	run catalog list
	assert_output ""
	run catalog list --all
	[ "${#lines[@]}" -eq 1 ]
	run catalog complete
	assert_output ""
	run catalog unretire Viso
	[ "$(rv_json '["retired"]')" = null ]
	run catalog edit Viso
	assert_failure 64
	run catalog show Pedicure
	assert_failure 66
	run rv_sql "SELECT action, fields FROM audit ORDER BY id"
	assert_output "service.add|name,duration,buffer,price
service.edit|duration,price
service.retire|retired
service.restore|retired"
}

@test "a service name with blanks around it is refused, not a second service" {
	catalog add --name Viso --duration 30 >/dev/null
	run catalog add --name 'Viso ' --duration 30
	assert_failure 65
	assert_output "catalog: a service name cannot begin or end with a blank: 'Viso '"
	run catalog add --name "$(printf '\tViso')" --duration 30
	assert_failure 65
	catalog add --name Manicure --duration 30 >/dev/null
	run catalog edit Manicure --name ' Pedicure'
	assert_failure 65
	assert_output "catalog: a service name cannot begin or end with a blank: ' Pedicure'"
	[ "$(rv_sql 'SELECT group_concat(name) FROM (SELECT name FROM service ORDER BY id)')" = Viso,Manicure ]
	# Blanks inside are fine.
	run catalog add --name 'Massaggio sportivo' --duration 50
	assert_success
}
