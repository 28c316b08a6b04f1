package api

func (b *specBuilder) historyPaths() {}
