package main

import (
	"strconv"
	"testing"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/stretchr/testify/require"
)

func TestRegistryMemoryBudgetThroughTheABI(t *testing.T) {
	_, err := registryNew(`{"memory_budget": -1}`)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	_, err = registryNew(`{"memory_budget": "lots"}`)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)

	img := tinyImage(t)
	g, err := registryNew(`{"memory_budget": ` + strconv.Itoa(len(img)+len(img)/2) + `, "threads": 1}`)
	require.NoError(t, err)
	defer registryFree(g)
	require.NoError(t, registryLoadModelBytes(g, "a", tinyImage(t), ""))
	r, err := registryRealm(g, "a", "")
	require.NoError(t, err)
	err = registryLoadModelBytes(g, "b", tinyImage(t), "")
	require.Equal(t, statusMemoryBudget, statusOf(err))
	require.NoError(t, realmFree(r))
	require.NoError(t, registryLoadModelBytes(g, "b", tinyImage(t), ""))
	ms, err := registryModels(g)
	require.NoError(t, err)
	require.Contains(t, ms, `"id":"b"`)
	require.NotContains(t, ms, `"id":"a"`)
}
