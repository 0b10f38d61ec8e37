module polyboard.example/gocacheprog

go 1.21
