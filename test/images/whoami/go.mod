module drcon.local/whoami

go 1.23
