package registry

import "github.com/realm-ai/realm/engine"

// Info describes a loaded model in the shape of the C ABI's model info
// object (realm_model_info, realm_registry_models).
type Info struct {
	Architecture    string `json:"architecture"`
	Name            string `json:"name"`
	Params          int64  `json:"n_params"`
	Vocab           int    `json:"n_vocab"`
	CtxTrain        int    `json:"n_ctx_train"`
	Ctx             int    `json:"n_ctx"`
	Embd            int    `json:"n_embd"`
	Layers          int    `json:"n_layer"`
	Heads           int    `json:"n_head"`
	KVHeads         int    `json:"n_head_kv"`
	FileType        string `json:"file_type"`
	FileSize        int64  `json:"file_size"`
	HasChatTemplate bool   `json:"has_chat_template"`
	BOS             int32  `json:"bos_token_id"`
	EOS             int32  `json:"eos_token_id"`
	Threads         int    `json:"threads"`
}

func newInfo(mi engine.ModelInfo, size int64) Info {
	return Info{
		Architecture:    mi.Architecture,
		Name:            mi.Name,
		Params:          mi.Parameters,
		Vocab:           mi.VocabSize,
		CtxTrain:        mi.TrainContextLength,
		Ctx:             mi.ContextLength,
		Embd:            mi.EmbeddingLength,
		Layers:          mi.Layers,
		Heads:           mi.Heads,
		KVHeads:         mi.KVHeads,
		FileType:        mi.FileType,
		FileSize:        size,
		HasChatTemplate: mi.HasChatTemplate,
		BOS:             mi.BOS,
		EOS:             mi.EOS,
		Threads:         mi.Threads,
	}
}
