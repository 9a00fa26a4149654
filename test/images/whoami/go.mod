module drcon.local/whoami

go 1.22
