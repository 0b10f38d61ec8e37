module polyboard.example/app

go 1.22
